/**
 * Training from the editor in a real VS Code host: a `tasks.json` entry of the `xaiLens` type runs a one-epoch fine-tune of the bundled model
 * on a tiny generated folder through CustomExecution + Pseudoterminal, the dashboard webview draws the epoch, the
 * explain command accepts the new model, Stop keeps the last complete epoch, a bad entry fails with one line, and the
 * mistakes gallery lists a known mistake with its Grad-CAM thumbnail.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './host';


interface RunLike {
  id: number;
  state: string;
  outDir: string;
  events: { type: string }[];
  epochs: { record: { epoch: number; trainLoss: number } }[];
  finished: Promise<number>;
  stop(): void;
  info: { error?: string };
}
interface Api {
  activeModel(): string;
  panels: Map<string, { view: { result?: { model: { dir: string; classNames: string[] }; prediction: { label: number }; methods: unknown[] } } }>;
  training: {
    runs: RunLike[];
    dashboard: { drawn?: { runId: number; epochs: number; confusion: boolean; samples: number }; webviewPanel?: vscode.WebviewPanel };
    mistakes: {
      drawn?: { shown: number; thumbnails: number };
      webviewPanel?: vscode.WebviewPanel;
      counterfactual(id: number): Promise<{ counterfactual?: { label: number; probability: number; found: boolean }; error?: string } | undefined>;
    };
    provider: { createTask(def: object, scope?: vscode.WorkspaceFolder): vscode.Task };
  };
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function taskEnd(task: vscode.Task): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sub = vscode.tasks.onDidEndTaskProcess((e) => {
      if (e.execution.task.name === task.name) {
        sub.dispose();
        resolve(e.exitCode);
      }
    });
  });
}

describe('XAI Lens training', function () {
  this.timeout(180_000);
  let api: Api;
  let ws: string;
  let samples: string;

  before(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    samples = path.join(ext.extensionPath, 'media', 'samples');
    // A tiny class-per-folder dataset: the ten sample digits, three copies each.
    for (let d = 0; d < 10; d++) {
      fs.mkdirSync(path.join(ws, 'tiny-digits', String(d)), { recursive: true });
      for (const k of ['a', 'b', 'c']) fs.copyFileSync(path.join(samples, `digit-${d}.png`), path.join(ws, 'tiny-digits', String(d), `${k}.png`));
    }
  });

  it('contributes the xaiLens task type and the training commands', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const def = (pkg.contributes.taskDefinitions as { type: string; required: string[] }[]).find((d) => d.type === 'xaiLens');
    assert.deepEqual(def?.required, ['command', 'data']);
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['xaiLens.fineTune', 'xaiLens.fineTuneFolder', 'xaiLens.trainModel', 'xaiLens.showTrainingDashboard', 'xaiLens.showMistakes']) {
      assert.ok(commands.includes(c), c);
    }
    const folderMenu = (pkg.contributes.menus['explorer/context'] as { command: string; when: string }[]).find((m) => m.command === 'xaiLens.fineTuneFolder');
    assert.equal(folderMenu?.when, 'explorerResourceIsFolder');
  });

  it('runs a tasks.json entry: a one-epoch fine-tune of the bundled model, the dashboard draws it, and the explain command accepts the new model', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'xaiLens' });
    const task = tasks.find((t) => t.name === 'xai-lens: tiny finetune');
    assert.ok(task, `tasks.json entry not found among ${tasks.map((t) => t.name).join(', ')}`);
    const before = api.training.runs.length;
    const ended = taskEnd(task);
    await vscode.tasks.executeTask(task);
    const run = await until('the run to start', () => api.training.runs[before]);
    await run.finished;
    assert.equal(run.state, 'done', run.info.error);
    assert.equal(await ended, 0);
    assert.equal(run.outDir, path.join(ws, 'xai-lens-runs', 'tiny-finetune'));
    const card = JSON.parse(fs.readFileSync(path.join(run.outDir, 'model-card.json'), 'utf8')) as { architecture: string; finetune?: { base?: unknown } };
    assert.ok(card.finetune?.base, `the card records the base model: ${JSON.stringify(card).slice(0, 300)}`);
    assert.deepEqual(run.epochs.map((e) => e.record.epoch), [1]);
    assert.ok(Number.isFinite(run.epochs[0].record.trainLoss));
    assert.ok(fs.existsSync(path.join(run.outDir, 'model.json')));
    // The dashboard opened with the task and its page drew the epoch.
    assert.ok(api.training.dashboard.webviewPanel, 'the dashboard did not open');
    const drawn = await until('the dashboard to draw the epoch', () => (api.training.dashboard.drawn?.runId === run.id && api.training.dashboard.drawn.epochs === 1 ? api.training.dashboard.drawn : undefined));
    assert.equal(drawn.epochs, 1);
    // Reopening shows the same run.
    api.training.dashboard.webviewPanel!.dispose();
    await vscode.commands.executeCommand('xaiLens.showTrainingDashboard');
    await until('the reopened dashboard to draw the epoch again', () => api.training.dashboard.webviewPanel && api.training.dashboard.drawn?.epochs === 1);

    const image = vscode.Uri.file(path.join(ws, 'digit.png'));
    await vscode.commands.executeCommand('xaiLens.explainWithModel', image, run.outDir);
    const entry = await until('the explain panel', () => api.panels.get(`${image.fsPath}\n${run.outDir}`));
    const result = await until('the explanation with the new model', () => entry.view.result, 120_000);
    assert.equal(result.model.dir, run.outDir);
    assert.deepEqual(result.model.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.ok(result.methods.length > 0);
  });

  it('Stop keeps the last complete epoch', async () => {
    const out = path.join(ws, 'xai-lens-runs', 'stopped');
    const task = api.training.provider.createTask(
      { type: 'xaiLens', command: 'train', model: 'mobilenetv2', data: 'tiny-digits', epochs: 20, batchSize: 4, out },
      vscode.workspace.workspaceFolders![0],
    );
    const before = api.training.runs.length;
    const ended = taskEnd(task);
    await vscode.tasks.executeTask(task);
    const run = await until('the run to start', () => api.training.runs[before]);
    await until('the first epoch', () => run.epochs.length >= 1, 120_000);
    run.stop();
    await run.finished;
    assert.equal(run.state, 'cancelled', run.info.error);
    assert.equal(await ended, 130);
    const kept = run.epochs.length;
    assert.ok(kept >= 1 && kept < 20);
    const checkpoint = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint.json'), 'utf8')) as { epoch: number };
    assert.equal(checkpoint.epoch, kept);
    assert.ok(fs.existsSync(path.join(out, 'model.json')));
  });

  it('a tasks.json entry without a model fails with one line naming the field', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'xaiLens' });
    const task = tasks.find((t) => t.name === 'xai-lens: broken train');
    assert.ok(task);
    const before = api.training.runs.length;
    const ended = taskEnd(task);
    await vscode.tasks.executeTask(task);
    assert.equal(await ended, 2);
    assert.equal(api.training.runs.length, before, 'no run may start');
  });

  it('the mistakes gallery lists a known mistake with its Grad-CAM thumbnail and counterfactual', async () => {
    // digit-7 filed under 3 is a mistake the bundled model makes with high confidence (it reads a 7).
    const data = path.join(ws, 'mistake-digits');
    for (const [label, digit] of [['3', 7], ['7', 7], ['2', 2]] as const) {
      fs.mkdirSync(path.join(data, label), { recursive: true });
      fs.copyFileSync(path.join(samples, `digit-${digit}.png`), path.join(data, label, `digit-${digit}.png`));
    }
    const result = (await vscode.commands.executeCommand('xaiLens.showMistakes', { model: api.activeModel(), data })) as {
      info: { evaluated: number; correct: number };
      mistakes: { id: number; name: string; trueLabel: number; predicted: number; confidence: number }[];
    };
    assert.ok(result, 'no gallery');
    assert.equal(result.info.evaluated, 3);
    assert.equal(result.info.correct, 2);
    assert.equal(result.mistakes.length, 1);
    const [m] = result.mistakes;
    assert.deepEqual([m.name, m.trueLabel, m.predicted], [path.join('3', 'digit-7.png'), 3, 7]);
    assert.ok(m.confidence > 0.5);
    const drawn = await until('the gallery to draw the thumbnail', () => (api.training.mistakes.drawn?.thumbnails === 1 ? api.training.mistakes.drawn : undefined), 90_000);
    assert.equal(drawn.shown, 1);
    // The contrastive counterfactual aims at the true class.
    const cf = await api.training.mistakes.counterfactual(m.id);
    assert.ok(cf?.counterfactual, cf?.error);
    assert.deepEqual([cf.counterfactual.found, cf.counterfactual.label], [true, 3]);
  });
});
