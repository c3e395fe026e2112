/**
 * The `xaiLens` task type: a TaskProvider whose tasks run the engine CLI through CustomExecution + Pseudoterminal, so
 * the same task runs from the palette, from a `tasks.json` entry and on remote hosts (the terminal lives where the
 * extension host runs). The terminal prints one Keras-style line per epoch and a live batch line; closing it or
 * *Terminate Task* stops the run with SIGINT, keeping the last complete epoch's checkpoint.
 */
import * as vscode from 'vscode';
import { isAbsolute, join } from 'node:path';
import { kerasDuration, kerasEpochLine, kerasNumber, remainingSeconds } from '../../shared/trainingMath';
import { TASK_TYPE, defaultRunFolder, taskCliArgs, taskLabel, taskProblem, type TrainTaskDefinition } from '../../shared/trainTask';
import type { TrainingEvent } from '../../shared/trainingEvents';
import { TrainingRun } from './trainingRun';
import type { EngineCli } from '../engineChild';

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** Where the task's relative paths resolve: the task's workspace folder, else the first one, else the home folder. */
function baseFolder(scope: vscode.TaskScope | vscode.WorkspaceFolder | undefined): string {
  if (scope && typeof scope === 'object') return scope.uri.fsPath;
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.env.HOME ?? process.cwd();
}

/** `${workspaceFolder}` in string fields (CustomExecution tasks get their definition as written). */
function substitute(def: TrainTaskDefinition, folder: string): TrainTaskDefinition {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def)) out[k] = typeof v === 'string' ? v.replace(/\$\{workspaceFolder\}/g, folder) : v;
  return out as unknown as TrainTaskDefinition;
}

/** A progress bar in Keras' style: `12/47 [=====>........................]`. */
function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.min(width, Math.floor((done / Math.max(1, total)) * width));
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${'.'.repeat(width - filled - 1)}`;
  return `${String(done).padStart(String(total).length)}/${total} [${bar}]`;
}

class TrainingTerminal implements vscode.Pseudoterminal {
  private readonly writer = new vscode.EventEmitter<string>();
  private readonly closer = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writer.event;
  readonly onDidClose = this.closer.event;
  private run?: TrainingRun;
  private epochSeconds: number[] = [];
  private progressShown = false;

  constructor(
    private readonly def: TrainTaskDefinition,
    private readonly folder: string,
    private readonly cli: EngineCli,
    private readonly onRun: (run: TrainingRun) => void,
  ) {}

  private line(text: string): void {
    this.clearProgress();
    this.writer.fire(`${text.replace(/\r?\n/g, '\r\n')}\r\n`);
  }

  private clearProgress(): void {
    if (this.progressShown) this.writer.fire('\r\x1b[K');
    this.progressShown = false;
  }

  open(): void {
    const problem = taskProblem(this.def as unknown as Record<string, unknown>);
    if (problem) {
      this.line(`${RED}xai-lens task: ${problem}${RESET}`);
      this.closer.fire(2);
      return;
    }
    const out = this.def.out ?? defaultRunFolder(this.def, new Date());
    const args = taskCliArgs({ ...this.def, out });
    const outDir = isAbsolute(out) ? out : join(this.folder, out);
    const data = this.def.data;
    const run = new TrainingRun(taskLabel(this.def), this.cli, args, this.folder, outDir, isAbsolute(data) || /^[a-z-]+(:|$)/.test(data) ? data : join(this.folder, data));
    this.run = run;
    this.line(`${DIM}> xai-lens ${args.join(' ')}${RESET}`);
    run.subscribe({
      event: (ev) => this.onEvent(ev),
      log: (l) => this.line(/error|cannot|invalid|unknown/i.test(l) ? `${RED}${l}${RESET}` : `${DIM}${l}${RESET}`),
      state: (state, error) => {
        if (state === 'stopping') this.line('Stopping after this batch; the last complete epoch is kept (stop again to quit at once).');
        if (state === 'failed') this.line(`${RED}${error ?? 'training failed'}${RESET}`);
      },
    });
    run.start();
    this.onRun(run);
    void run.finished.then((code) => {
      this.clearProgress();
      this.closer.fire(run.state === 'done' ? 0 : run.state === 'cancelled' ? 130 : code || 1);
    });
  }

  private onEvent(ev: TrainingEvent): void {
    switch (ev.type) {
      case 'start':
        this.line(`Training on ${ev.trainCount} images, validating on ${ev.validationCount}; ${ev.params.toLocaleString('en-US')} parameters, ${(ev.macsPerImage / 1e6).toFixed(2)} M MACs per image; epochs ${ev.startEpoch}..${ev.epochs}`);
        for (const n of ev.notes ?? []) this.line(`Note: ${n}`);
        break;
      case 'progress':
        this.writer.fire(`\r\x1b[K${progressBar(ev.batch, ev.batches)} - ETA: ${kerasDuration(ev.etaSeconds)} - loss: ${kerasNumber(ev.loss)} - accuracy: ${kerasNumber(ev.accuracy)}`);
        this.progressShown = true;
        break;
      case 'epoch': {
        const r = ev.record;
        this.epochSeconds.push(r.seconds);
        const total = this.epochsTotal();
        // A fine-tune's head-first epochs train only the new head.
        this.line(kerasEpochLine({ ...r, epochs: total, etaSeconds: remainingSeconds(this.epochSeconds, r.epoch, total) }) + (ev.frozen ? ' (head only)' : ''));
        break;
      }
      case 'learning-rate':
        this.line(`${DIM}learning rate ${kerasNumber(ev.from)} -> ${kerasNumber(ev.to)} (validation loss plateaued)${RESET}`);
        break;
      case 'early-stop':
        this.line(`Early stopping after epoch ${ev.epoch}.`);
        break;
      case 'done': {
        const m = ev.card.metrics;
        const test = m?.testAccuracy !== undefined ? ` Test accuracy ${(m.testAccuracy * 100).toFixed(2)} %, test loss ${kerasNumber(m.testLoss ?? NaN)}.` : '';
        this.line(ev.cancelled ? `Stopped; the last complete epoch is saved in ${this.run?.outDir}.${test}` : `Done: model saved in ${this.run?.outDir}.${test}`);
        break;
      }
      case 'checkpoint':
        break;
    }
  }

  private epochsTotal(): number {
    const start = this.run?.events.find((e) => e.type === 'start');
    return start?.type === 'start' ? start.epochs : (this.def.epochs ?? 0);
  }

  close(): void {
    this.run?.stop();
  }

  handleInput(data: string): void {
    // Ctrl-C in the task terminal stops like Terminate Task.
    if (data === '\x03') this.run?.stop();
  }
}

export class TrainingTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly cli: EngineCli,
    private readonly onRun: (run: TrainingRun) => void,
  ) {}

  /** Nothing to detect: training tasks come from tasks.json or the Fine-tune/Train commands. */
  provideTasks(): vscode.Task[] {
    return [];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as TrainTaskDefinition;
    if (def.type !== TASK_TYPE) return undefined;
    return this.createTask(def, task.scope, task.name);
  }

  createTask(def: TrainTaskDefinition, scope: vscode.TaskScope | vscode.WorkspaceFolder = vscode.TaskScope.Workspace, name?: string): vscode.Task {
    const task = new vscode.Task(
      def,
      scope ?? vscode.TaskScope.Workspace,
      name ?? taskLabel(def),
      'XAI Lens',
      new vscode.CustomExecution(async (resolved) => {
        const folder = baseFolder(scope);
        return new TrainingTerminal(substitute(resolved as TrainTaskDefinition, folder), folder, this.cli, this.onRun);
      }),
    );
    task.group = vscode.TaskGroup.Build;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
    task.isBackground = false;
    return task;
  }
}
