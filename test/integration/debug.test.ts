/**
 * Explaining while debugging, in a real VS Code host with real debuggers: the built-in JavaScript debugger (js-debug)
 * on test/fixtures/workspace/debug/tensors.js, and debugpy (Debian's python3-debugpy, through the test-only debugger
 * type of test/fixtures/debugpy-extension) on debug/torch_fixture.py. Each fixture writes the bytes of its image and
 * its own Grad-CAM to a folder, so the test compares what XAI Lens read and computed through the debugger with them.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { extension as hostExtension, fixture } from './host';


interface Outcome {
  expression: string;
  result?: { prediction: { label: number; probabilities: number[] }; methods: { method: string; data: number[]; layer?: string }[]; model: { layers: { name: string }[]; dir: string }; input: { width: number } };
  read?: { shape?: number[]; dtype: string; layout: string; batchIndex: number | null; range: string; raw: number[] };
  error?: string;
  ms: number;
}
interface Api {
  debug: {
    panel(): { result?: Outcome['result']; error?: string; history: { label: string }[] } | undefined;
    watched(): { expression: string; steps: number } | undefined;
    nextWatchUpdate(): Promise<Outcome>;
  };
}

function extension(): vscode.Extension<Api> {
  return hostExtension<Api>();
}

/** Resolves when the session is paused in a frame (the next stop after `trigger`). */
function nextStop(trigger: () => Thenable<unknown>, timeoutMs = 90_000): Promise<vscode.DebugStackFrame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`the debugger did not stop; DAP messages:\n${dapLog.slice(-60).join('\n')}`));
    }, timeoutMs);
    const sub = vscode.debug.onDidChangeActiveStackItem((item) => {
      if (item instanceof vscode.DebugStackFrame) {
        clearTimeout(timer);
        sub.dispose();
        resolve(item);
      }
    });
    Promise.resolve(trigger()).then((ok) => {
      if (ok === false) reject(new Error('the debug session did not start'));
    }, reject);
  });
}

/** The variables of the frame's cheap scopes (js-debug puts a loop's block scope before the function's locals). */
async function variablesOf(frame: vscode.DebugStackFrame): Promise<Map<string, { type?: string; __vscodeVariableMenuContext?: string }>> {
  const { scopes } = (await frame.session.customRequest('scopes', { frameId: frame.frameId })) as { scopes: { name: string; variablesReference: number; expensive?: boolean }[] };
  const all = new Map<string, { type?: string; __vscodeVariableMenuContext?: string }>();
  for (const scope of scopes.filter((x) => !x.expensive)) {
    const { variables } = (await frame.session.customRequest('variables', { variablesReference: scope.variablesReference })) as {
      variables: { name: string; type?: string; __vscodeVariableMenuContext?: string }[];
    };
    for (const v of variables) if (!all.has(v.name)) all.set(v.name, v);
  }
  return all;
}

/** Every DAP message of the test sessions, one line each, for the failure report. */
const dapLog: string[] = [];
vscode.debug.registerDebugAdapterTrackerFactory('*', {
  createDebugAdapterTracker: (session) => ({
    onDidSendMessage: (m: { type?: string; event?: string; command?: string; success?: boolean; message?: string; body?: unknown }) =>
      void dapLog.push(`${session.type} <- ${m.type} ${m.event ?? m.command ?? ''} ${m.success === false ? `FAILED ${m.message}` : ''} ${JSON.stringify(m.body ?? '').slice(0, 300)}`),
    onWillReceiveMessage: (m: { command?: string; arguments?: unknown }) => void dapLog.push(`${session.type} -> ${m.command} ${JSON.stringify(m.arguments ?? '').slice(0, 300)}`),
    onError: (e: Error) => void dapLog.push(`${session.type} error ${e.message}`),
    onExit: (code: number | undefined, signal: string | undefined) => void dapLog.push(`${session.type} adapter exit ${code} ${signal}`),
  }),
});

function floats(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const explain = (expression: string, opts: object) => vscode.commands.executeCommand<Outcome>('xaiLens.debug.explainSelection', expression, opts);

/** Reads a 224×224×3 float32 value three times; the median goes to test-artifacts/debug-transfer.json. */
async function benchmark(name: string, expression: string): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const o = await explain(expression, { readOnly: true });
    assert.equal(o.error, undefined, o.error);
    times.push(o.ms);
  }
  times.sort((a, b) => a - b);
  const dir = join(extension().extensionPath, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'debug-transfer.json');
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first entry */
  }
  all[name] = { value: '224x224x3 float32', bytes: 224 * 224 * 3 * 4, medianMs: Math.round(times[1]), runsMs: times.map(Math.round) };
  writeFileSync(file, JSON.stringify(all, null, 2));
  console.log(JSON.stringify({ benchmark: `debug-transfer ${name}`, ...(all[name] as object) }));
}

describe('XAI Lens while debugging', function () {
  // Generous: the shared test machines run these at load averages far above their two cores.
  this.timeout(600_000);
  let api: Api;
  const out = mkdtempSync(join(tmpdir(), 'xai-lens-debug-'));

  before(async () => {
    api = await extension().activate();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('xaiLens.debug.unwatch');
    if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
  });

  it('contributes the Variables/Watch menu items for image variables and the editor command while paused', () => {
    const menus = extension().packageJSON.contributes.menus as Record<string, { command: string; when: string }[]>;
    assert.deepEqual(
      menus['debug/variables/context'].map((m) => [m.command, m.when]),
      [
        ['xaiLens.debug.explainVariable', "debugProtocolVariableMenuContext == 'xaiLensImage'"],
        ['xaiLens.debug.watch', "debugProtocolVariableMenuContext == 'xaiLensImage'"],
      ],
    );
    assert.ok(menus['debug/watch/context'].some((m) => m.command === 'xaiLens.debug.explainVariable'));
    assert.ok(menus['editor/context'].some((m) => m.command === 'xaiLens.debug.explainSelection' && m.when.includes("debugState == 'stopped'")));
  });

  it('JavaScript (js-debug): marks image variables, reads the tensor byte for byte, explains with the live tf model, watches across stops', async () => {
    const frame = await nextStop(() =>
      vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
        type: 'pwa-node', request: 'launch', name: 'xai-lens js fixture', program: fixture('debug/tensors.js').fsPath, args: [out],
        env: { NODE_PATH: join(extension().extensionPath, 'node_modules') }, console: 'internalConsole', skipFiles: ['<node_internals>/**'],
      }),
    );
    const vars = await variablesOf(frame);
    assert.equal(vars.get('image')?.__vscodeVariableMenuContext, 'xaiLensImage', `image: ${JSON.stringify(vars.get('image'))}`);
    for (const name of ['count', 'title', 'model']) assert.equal(vars.get(name)?.__vscodeVariableMenuContext, undefined, name);

    // The menu's own argument shape: { sessionId, container, variable }.
    const read = await vscode.commands.executeCommand<Outcome>('xaiLens.debug.explainVariable', { sessionId: frame.session.id, container: {}, variable: { name: 'image', evaluateName: 'image', value: '' } }, { readOnly: true });
    assert.equal(read.error, undefined, read.error);
    assert.deepEqual(read.read?.shape, [224, 224, 3]);
    assert.equal(read.read?.layout, 'HWC');
    assert.equal(maxAbsDiff(read.read!.raw, floats(join(out, 'js-image.bin'))), 0, 'the bytes read equal the debuggee\'s');
    await benchmark('js-debug', 'image');

    const table = await explain('table', { model: 'extension' });
    assert.equal(table.error, 'table: shape [3, 5000] is not an image (a 3×5000 grid is too thin for a picture)');

    const withDefault = await explain('image', { model: 'extension', methods: ['gradcam'] });
    assert.equal(withDefault.error, undefined, withDefault.error);
    assert.equal(withDefault.result?.input.width, 28, 'resized to the bundled model');

    const live = await explain('x', { model: 'model', methods: ['gradcam'], layer: 'conv2' });
    assert.equal(live.error, undefined, live.error);
    const reference = JSON.parse(readFileSync(join(out, 'js-reference.json'), 'utf8')) as { label: number; gradcam: number[]; probabilities: number[] };
    assert.equal(live.result!.prediction.label, reference.label);
    assert.ok(maxAbsDiff(live.result!.prediction.probabilities, reference.probabilities) < 1e-6);
    const cam = live.result!.methods.find((m) => m.method === 'gradcam')!;
    const peak = Math.max(...reference.gradcam);
    assert.ok(peak > 0, 'the reference map is not all zero');
    assert.ok(maxAbsDiff(cam.data, reference.gradcam) <= 1e-3 * peak, `Grad-CAM differs by ${maxAbsDiff(cam.data, reference.gradcam)} (peak ${peak})`);
    assert.deepEqual(live.result!.model.layers.map((l) => l.name), ['conv1', 'conv2'], 'the layer picker lists the live model\'s conv layers');

    const first = await vscode.commands.executeCommand<Outcome>('xaiLens.debug.watch', 'image', { model: 'extension', methods: ['gradcam'] });
    assert.equal(first.error, undefined, first.error);
    const update = api.debug.nextWatchUpdate();
    await vscode.commands.executeCommand('workbench.action.debug.continue');
    const second = await update;
    assert.equal(second.error, undefined, second.error);
    const values = floats(join(out, 'js-image.bin'));
    assert.equal(second.read!.raw[1], Math.fround(values[1] * 0.5), 'the watched value is read again at the next stop');
    const history = api.debug.panel()!.history.map((h) => h.label);
    assert.equal(history.length, 2);
    assert.match(history[1], /^step 1 · tensors\.js:\d+$/);
    assert.equal(api.debug.watched()?.steps, 1);

    // A watched value that changes shape is explained as it is now; its history entry says so.
    const third = api.debug.nextWatchUpdate();
    await vscode.commands.executeCommand('workbench.action.debug.continue');
    const resized = await third;
    assert.equal(resized.error, undefined, resized.error);
    assert.deepEqual(resized.read?.shape, [112, 112, 3]);
    assert.match(api.debug.panel()!.history.map((h) => h.label)[2], /^step 2 · tensors\.js:\d+ · shape \[224, 224, 3\] → \[112, 112, 3\]$/);

    // The session ends while a read is under way: one line, and the panel keeps the last good result.
    const kept = api.debug.panel()!.result;
    const pending = explain('image', { model: 'extension', methods: ['gradcam'] });
    await vscode.debug.stopDebugging(frame.session);
    const cut = await pending;
    assert.ok(cut.error && !cut.error.includes('\n'), `one line: ${cut.error}`);
    assert.equal(api.debug.panel()!.result, kept);
  });

  it('Python (debugpy): marks image variables, reads numpy/torch values, Grad-CAM with the live torch model equals the fixture\'s own, watches across stops', async () => {
    const program = fixture('debug/torch_fixture.py');
    const lines = readFileSync(program.fsPath, 'utf8').split('\n');
    const stopLine = lines.findIndex((l) => l.trim() === 'pass  # STOP');
    const bp = new vscode.SourceBreakpoint(new vscode.Location(program, new vscode.Position(stopLine, 0)));
    vscode.debug.addBreakpoints([bp]);
    try {
      const frame = await nextStop(() =>
        vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
          type: 'xai-lens-test-debugpy', request: 'launch', name: 'xai-lens py fixture', program: program.fsPath, args: [out], console: 'internalConsole', justMyCode: true,
        }),
      );
      const vars = await variablesOf(frame);
      assert.equal(vars.get('image')?.__vscodeVariableMenuContext, 'xaiLensImage', `image: ${JSON.stringify(vars.get('image'))}`);
      assert.equal(vars.get('batch')?.__vscodeVariableMenuContext, 'xaiLensImage');
      for (const name of ['count', 'net', 'out']) assert.equal(vars.get(name)?.__vscodeVariableMenuContext, undefined, name);

      const read = await explain('image', { readOnly: true });
      assert.equal(read.error, undefined, read.error);
      assert.deepEqual(read.read?.shape, [224, 224, 3]);
      assert.equal(maxAbsDiff(read.read!.raw, floats(join(out, 'py-image.bin'))), 0, 'the bytes read equal the debuggee\'s');
      await benchmark('debugpy', 'image');

      const item = await explain('batch', { readOnly: true, batchIndex: 1 });
      assert.deepEqual([item.read?.layout, item.read?.batchIndex, item.read?.range], ['NCHW', 1, '[-1,1]']);

      const table = await explain('table', { model: 'extension' });
      assert.equal(table.error, 'table: shape [3, 5000] is not an image (a 3×5000 grid is too thin for a picture)');

      const live = await explain('x', { model: 'net', layer: 'features.2', methods: ['gradcam', 'gradients', 'smoothgrad', 'ig'], samples: 4, steps: 8 });
      assert.equal(live.error, undefined, live.error);
      const reference = JSON.parse(readFileSync(join(out, 'py-reference.json'), 'utf8')) as { label: number; gradcam: number[] };
      assert.equal(live.result!.prediction.label, reference.label);
      const cam = live.result!.methods.find((m) => m.method === 'gradcam')!;
      assert.ok(maxAbsDiff(cam.data, reference.gradcam) < 1e-5, `Grad-CAM differs by ${maxAbsDiff(cam.data, reference.gradcam)}`);
      assert.deepEqual(live.result!.methods.map((m) => m.method), ['gradcam', 'gradients', 'smoothgrad', 'ig']);
      assert.deepEqual(live.result!.model.layers.map((l) => l.name), ['features.0', 'features.2']);
      assert.equal(api.debug.panel()!.result, live.result, 'the panel shows the live result');

      const first = await vscode.commands.executeCommand<Outcome>('xaiLens.debug.watch', 'x', { model: 'net', methods: ['gradcam'] });
      assert.equal(first.error, undefined, first.error);
      const update = api.debug.nextWatchUpdate();
      await vscode.commands.executeCommand('workbench.action.debug.continue');
      const second = await update;
      assert.equal(second.error, undefined, second.error);
      const history = api.debug.panel()!.history.map((h) => h.label);
      assert.equal(history.length, 2);
      assert.equal(history[1], `step 1 · torch_fixture.py:${stopLine + 1}`);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
