/**
 * One training run: the engine CLI (`dist/cli.js train|finetune … --json`) as a child process, its stdout parsed into
 * training events, its stderr kept for the error line. Stopping sends SIGINT, on which the CLI finishes the current
 * batch and keeps the last complete epoch's checkpoint (a second stop kills it). No `vscode` here: the task terminal
 * and the dashboard subscribe to it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { LineSplitter, parseTrainingEvent, type TrainingEvent } from '../../shared/trainingEvents';
import type { RunInfo, RunState } from '../../shared/dashboardProtocol';
import { engineChildEnv, type EngineCli } from '../engineChild';

export interface RunListener {
  event?(ev: TrainingEvent): void;
  /** A stderr line that is not one of the CLI's own event summaries (warnings, notes, the error line). */
  log?(line: string): void;
  state?(state: RunState, error?: string): void;
}

/** The CLI's human-readable summaries of events (it prints them to stderr also with --json); the events carry them. */
const EVENT_SUMMARY = /^(training \d+ images|epoch \d+(\/\d+ batch|:)|Epoch \d+\/\d+ |checkpoint saved|learning rate \S+ ->|early stopping|done: |cancelled; )/i;

let nextId = 1;

export class TrainingRun {
  readonly id = nextId++;
  readonly events: TrainingEvent[] = [];
  private child?: ChildProcess;
  private stderrTail: string[] = [];
  private listeners = new Set<RunListener>();
  private _state: RunState = 'running';
  private _error?: string;
  private exitCode?: number;
  readonly finished: Promise<number>;
  private resolveFinished!: (code: number) => void;

  constructor(
    readonly label: string,
    private readonly cli: EngineCli,
    readonly args: readonly string[],
    readonly cwd: string,
    readonly outDir: string,
    readonly data: string,
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  get state(): RunState {
    return this._state;
  }

  get info(): RunInfo {
    return { id: this.id, label: this.label, commandLine: `xai-lens ${this.args.join(' ')}`, outDir: this.outDir, data: this.data, state: this._state, error: this._error };
  }

  /** Epoch events so far. */
  get epochs(): Extract<TrainingEvent, { type: 'epoch' }>[] {
    return this.events.filter((e): e is Extract<TrainingEvent, { type: 'epoch' }> => e.type === 'epoch');
  }

  subscribe(l: RunListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  start(): void {
    if (this.child) return;
    // fork: the extension host's own Node (Electron's, run as Node), with stdout/stderr piped.
    const child = fork(this.cli.script, [...this.args], {
      cwd: this.cwd,
      silent: true,
      env: engineChildEnv(this.cli.nativeModules),
      execArgv: [],
    });
    this.child = child;
    const out = new LineSplitter();
    const err = new LineSplitter();
    const onOut = (lines: string[]) => {
      for (const line of lines) {
        let ev: TrainingEvent | undefined;
        try {
          ev = parseTrainingEvent(line);
        } catch (e) {
          this.emitLog(`xai-lens: ${(e as Error).message}`);
          continue;
        }
        if (!ev) continue;
        this.events.push(ev);
        for (const l of this.listeners) l.event?.(ev);
      }
    };
    const onErr = (lines: string[]) => {
      for (const line of lines) {
        if (!line.trim()) continue;
        this.stderrTail = [...this.stderrTail, line].slice(-20);
        if (!EVENT_SUMMARY.test(line)) this.emitLog(line);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (c: string) => onOut(out.push(c)));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => onErr(err.push(c)));
    child.on('error', (e) => this.finish(1, `cannot start the engine CLI ${this.cli.script}: ${e.message}`));
    child.on('close', (code, signal) => {
      onOut(out.end());
      onErr(err.end());
      const done = this.events.find((e): e is Extract<TrainingEvent, { type: 'done' }> => e.type === 'done');
      if (done) this.finish(code ?? 0, undefined, done.cancelled);
      else if (this._state === 'stopping') this.finish(code ?? 130, undefined, true);
      else {
        const last = [...this.stderrTail].reverse().find((l) => !EVENT_SUMMARY.test(l));
        this.finish(code ?? 1, last ?? `the engine CLI stopped (${signal ?? `exit code ${code}`})`);
      }
    });
  }

  /** SIGINT: the CLI stops after the current batch and keeps the last complete epoch. A second stop kills it. */
  stop(): void {
    if (!this.child || this.exitCode !== undefined) return;
    if (this._state === 'stopping') {
      this.child.kill('SIGKILL');
      return;
    }
    this.setState('stopping');
    this.child.kill('SIGINT');
  }

  private emitLog(line: string): void {
    for (const l of this.listeners) l.log?.(line);
  }

  private setState(state: RunState, error?: string): void {
    this._state = state;
    this._error = error;
    for (const l of this.listeners) l.state?.(state, error);
  }

  private finish(code: number, error?: string, cancelled = false): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = code;
    this.setState(error ? 'failed' : cancelled ? 'cancelled' : 'done', error);
    this.resolveFinished(code);
  }
}
