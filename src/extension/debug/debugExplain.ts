/**
 * "Explain with XAI Lens" while a program is paused: the Variables/Watch menu item and the editor-selection command,
 * the DebugAdapterTracker that marks image-like variables for the menu's `when` clause, reading values through DAP
 * `evaluate` only (so remote, container and WSL sessions work), explaining with the extension's model or the live
 * model in the paused program, and watch mode (re-explain on every stop, history labelled by step).
 */
import * as vscode from 'vscode';
import type { EngineClient } from '../engineClient';
import { methodOptions, methodsSetting } from '../config';
import type { ExplainResultPayload, MethodId } from '../../shared/protocol';
import { DebugFailure, PendingEvaluations, dapEvaluator } from './dapEvaluate';
import { HelperClient, HelperError, firstLine, languageOfDebugType, type DebugLanguage, type Evaluate } from './helperProtocol';
import { NotAnImageError, describeRange, formatShape } from './imageLayout';
import { LIVE_METHODS, explainLive, liveResultPayload, readImage, readTfjsModel, type LiveMethod, type ReadImage } from './reader';
import { jsModelNames, markVariables, type DapVariable } from './variableKinds';
import { DebugExplainPanel } from './debugPanel';

export interface DebugExplainDeps {
  engine: EngineClient;
  activeModel(): string;
  log(line: string): void;
}

/** What a command resolves to (tests read it; users see the panel). */
export interface DebugExplainOutcome {
  expression: string;
  result?: ExplainResultPayload;
  read?: { shape?: number[]; dtype: string; layout: string; batchIndex: number | null; range: string; raw: number[] };
  error?: string;
  ms: number;
}

/** Options the commands accept after the menu's argument (tests and keybindings; the UI asks otherwise). */
export interface DebugExplainOptions {
  /** 'extension' (the extension's current model) or an expression naming a model in the paused program. */
  model?: string;
  layer?: string;
  target?: number;
  batchIndex?: number;
  /** Methods to run (default: the xaiLens.methods setting; live Python models compute the four gradient ones). */
  methods?: MethodId[];
  samples?: number;
  steps?: number;
  /** Skip explaining: only read the value (tests compare the bytes). */
  readOnly?: boolean;
}

export interface DebugExplainApi {
  panel(): DebugExplainPanel | undefined;
  watched(): { expression: string; steps: number } | undefined;
  /** Resolves with the outcome of the next watch-mode update. */
  nextWatchUpdate(): Promise<DebugExplainOutcome>;
}

const EVALUATE_TIMEOUT_MS = 30_000;
const EXPLAIN_TIMEOUT_MS = 300_000;

export function registerDebugExplain(context: vscode.ExtensionContext, deps: DebugExplainDeps): DebugExplainApi {
  const clipboard = new Map<string, boolean>();
  /** Per session: whether the helper is already in the debuggee (sent once, re-sent if the program lost it). */
  const helperState = new Map<string, { installed: boolean }>();
  const helperOf = (id: string) => helperState.get(id) ?? helperState.set(id, { installed: false }).get(id)!;
  const pending = new PendingEvaluations();
  let panel: DebugExplainPanel | undefined;
  let lastRequest: { session: vscode.DebugSession; expression: string; opts: DebugExplainOptions } | undefined;
  let watch: { sessionId: string; expression: string; opts: DebugExplainOptions; steps: number; shape?: string } | undefined;
  const watchWaiters: ((o: DebugExplainOutcome) => void)[] = [];

  const tracker: vscode.DebugAdapterTrackerFactory = {
    createDebugAdapterTracker(session) {
      const lang = languageOfDebugType(session.type);
      if (!lang) return undefined;
      return {
        onDidSendMessage(m: { type?: string; command?: string; success?: boolean; body?: { variables?: DapVariable[]; supportsClipboardContext?: boolean } }) {
          if (m.type !== 'response' || !m.success) return;
          if (m.command === 'initialize') clipboard.set(session.id, m.body?.supportsClipboardContext === true);
          // Mutating the response before VS Code reads it is how the menu context reaches the Variables view.
          if (m.command === 'variables' && m.body?.variables) markVariables(m.body.variables, lang);
        },
      };
    },
  };

  /** DAP evaluate in one frame: the clipboard context (no length limit) where the adapter has it. */
  function evaluator(session: vscode.DebugSession, frameId: number, timeoutMs: number): Evaluate {
    return dapEvaluator(session, frameId, clipboard.get(session.id) === false ? 'repl' : 'clipboard', timeoutMs, pending);
  }

  function currentFrame(sessionId?: string): { session: vscode.DebugSession; frameId: number; threadId: number } {
    const item = vscode.debug.activeStackItem;
    if (!(item instanceof vscode.DebugStackFrame)) throw new DebugFailure('the program is not paused in a stack frame');
    if (sessionId && item.session.id !== sessionId) throw new DebugFailure('the variable belongs to another debug session than the selected frame');
    return { session: item.session, frameId: item.frameId, threadId: item.threadId };
  }

  function languageOf(session: vscode.DebugSession): DebugLanguage {
    const lang = languageOfDebugType(session.type);
    if (!lang) throw new DebugFailure(`XAI Lens reads values from Python (debugpy) and JavaScript (js-debug) programs, not from ${session.type} sessions`);
    return lang;
  }

  async function liveModels(session: vscode.DebugSession, frameId: number, client: HelperClient): Promise<string[]> {
    if (client.lang === 'python') return (await client.call<{ models: string[] }>('find_models', ['locals()', 'globals()'])).models;
    const { scopes } = (await session.customRequest('scopes', { frameId })) as { scopes: { variablesReference: number; expensive?: boolean }[] };
    const names: string[] = [];
    for (const s of scopes.filter((x) => !x.expensive)) {
      const { variables } = (await session.customRequest('variables', { variablesReference: s.variablesReference })) as { variables: DapVariable[] };
      names.push(...jsModelNames(variables).filter((n) => !names.includes(n)));
    }
    return names;
  }

  async function pickModel(models: string[]): Promise<string | undefined> {
    if (models.length === 0) return 'extension';
    const items = [
      { label: '$(eye) XAI Lens model', description: deps.activeModel(), value: 'extension' },
      ...models.map((m) => ({ label: `$(debug) ${m}`, description: 'live model in the paused program', value: m })),
    ];
    return (await vscode.window.showQuickPick(items, { title: 'Explain with which model?' }))?.value;
  }

  function summary(read: ReadImage): DebugExplainOutcome['read'] {
    return {
      shape: read.described.kind === 'array' ? read.described.shape : undefined,
      dtype: read.dtype,
      layout: read.layout.layout,
      batchIndex: read.batchIndex,
      range: read.pixels.range,
      raw: Array.from(read.pixels.raw),
    };
  }

  async function engineExplain(read: ReadImage, modelDir: string, opts: DebugExplainOptions, raw: boolean, token: vscode.CancellationToken): Promise<ExplainResultPayload> {
    const image = raw ? { ...read.pixels.image, data: Array.from(read.pixels.raw) } : read.pixels.image;
    return deps.engine.request(
      'engine/explain',
      {
        modelDir, imagePath: read.expression, image, rawInput: raw, methods: opts.methods ?? methodsSetting(), target: opts.target, layer: opts.layer,
        counterfactual: 'none', methodOptions: methodOptions(context.extension),
      },
      { token },
    );
  }

  /** Reads and explains one expression in the paused frame; throws one-line errors. */
  async function run(session: vscode.DebugSession, frameId: number, expression: string, opts: DebugExplainOptions, token: vscode.CancellationToken, progress: (m: string) => void): Promise<DebugExplainOutcome> {
    const t0 = performance.now();
    const client = new HelperClient(languageOf(session), evaluator(session, frameId, EVALUATE_TIMEOUT_MS), helperOf(session.id));
    if (opts.readOnly) {
      const read = await readImage(client, expression, { batchIndex: opts.batchIndex });
      return { expression, read: summary(read), ms: performance.now() - t0 };
    }
    const model = opts.model ?? (await pickModel(await liveModels(session, frameId, client)));
    if (!model) throw new vscode.CancellationError();
    if (model === 'extension') {
      progress(`reading ${expression}`);
      const read = await readImage(client, expression, { batchIndex: opts.batchIndex });
      progress(`explaining ${expression} (${describeRange(read.pixels.range, read.pixels.min, read.pixels.max)})`);
      const result = await engineExplain(read, deps.activeModel(), opts, false, token);
      return { expression, result, read: summary(read), ms: performance.now() - t0 };
    }
    const kind = await client.describe(model);
    if (kind.kind !== 'model') throw new DebugFailure(`${model} is not a model (torch.nn.Module, Keras Model or tf.LayersModel)`);
    if (kind.framework === 'tfjs') {
      progress(`reading the model ${model}`);
      const artifacts = await readTfjsModel(client, model, `debug:${session.id}:${model}`);
      await deps.engine.request('engine/loadModelArtifacts', artifacts);
      const read = await readImage(client, expression, { batchIndex: opts.batchIndex });
      progress(`explaining ${expression} with ${model}`);
      const result = await engineExplain(read, artifacts.key, opts, true, token);
      return { expression, result, read: summary(read), ms: performance.now() - t0 };
    }
    progress(`explaining ${expression} with ${model} in the paused program`);
    const slow = new HelperClient(client.lang, evaluator(session, frameId, EXPLAIN_TIMEOUT_MS), helperOf(session.id));
    const described = await client.describe(expression);
    const batchIndex = described.kind === 'array' && described.shape.length === 4 ? (opts.batchIndex ?? 0) : undefined;
    const methods = opts.methods?.filter((m): m is LiveMethod => (LIVE_METHODS as readonly string[]).includes(m));
    const live = await explainLive(slow, model, expression, {
      layer: opts.layer, target: opts.target, batchIndex, methods,
      samples: opts.samples ?? vscode.workspace.getConfiguration('xaiLens').get<number>('smoothGrad.samples'),
      steps: opts.steps ?? vscode.workspace.getConfiguration('xaiLens').get<number>('integratedGradients.steps'),
    });
    return { expression, result: liveResultPayload(live, expression, model), ms: performance.now() - t0 };
  }

  function ensurePanel(): DebugExplainPanel {
    if (!panel) {
      panel = new DebugExplainPanel(context, (change) => {
        if (lastRequest) void explainIn(lastRequest.session.id, lastRequest.expression, { ...lastRequest.opts, ...change });
      });
      panel.onDidClose(() => (panel = undefined));
    }
    return panel;
  }

  function oneLine(e: unknown): string {
    if (e instanceof NotAnImageError || e instanceof HelperError || e instanceof DebugFailure) return e.message;
    return firstLine(e instanceof Error ? e.message : String(e));
  }

  /** `historyLabel`: the watch history's label for this result, given the shape read (watch mode marks a change). */
  async function explainIn(
    sessionId: string | undefined, expression: string, opts: DebugExplainOptions, historyLabel?: string | ((shape?: string) => string),
  ): Promise<DebugExplainOutcome> {
    const t0 = performance.now();
    let frame: { session: vscode.DebugSession; frameId: number };
    try {
      frame = currentFrame(sessionId);
    } catch (e) {
      return report(expression, oneLine(e), t0);
    }
    if (!opts.readOnly) lastRequest = { session: frame.session, expression, opts };
    const view = opts.readOnly ? undefined : ensurePanel();
    view?.reveal();
    const source = new vscode.CancellationTokenSource();
    try {
      const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `XAI Lens: ${expression}` }, (p) =>
        run(frame.session, frame.frameId, expression, opts, source.token, (m) => {
          p.report({ message: m });
          view?.progress(m);
        }),
      );
      const shape = outcome.read?.shape ? formatShape(outcome.read.shape) : undefined;
      if (outcome.result) view?.show(outcome.result, expression, typeof historyLabel === 'function' ? historyLabel(shape) : historyLabel);
      return outcome;
    } catch (e) {
      if (e instanceof vscode.CancellationError) return { expression, error: 'cancelled', ms: performance.now() - t0 };
      const message = `${expression}: ${oneLine(e)}`;
      view?.fail(message);
      return report(expression, message, t0, !view);
    } finally {
      source.dispose();
    }
  }

  function report(expression: string, message: string, t0: number, toast = true): DebugExplainOutcome {
    deps.log(`debug: ${message}`);
    if (toast) void vscode.window.showWarningMessage(`XAI Lens: ${message}`);
    return { expression, error: message, ms: performance.now() - t0 };
  }

  /** The expression a Variables/Watch menu argument names. */
  function expressionOf(arg: unknown): { sessionId?: string; expression?: string } {
    const a = arg as { sessionId?: string; variable?: { evaluateName?: string; name?: string }; expression?: { name?: string } ; evaluateName?: string; name?: string } | undefined;
    const v = a?.variable;
    return { sessionId: a?.sessionId, expression: v?.evaluateName ?? a?.evaluateName ?? a?.expression?.name ?? v?.name ?? a?.name };
  }

  function selection(): string | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return undefined;
    const text = editor.document.getText(editor.selection).trim();
    if (text) return text;
    const word = editor.document.getWordRangeAtPosition(editor.selection.active, /[\w.[\]'"]+/);
    return word ? editor.document.getText(word) : undefined;
  }

  async function stepLabel(session: vscode.DebugSession, threadId: number, frameId: number, n: number): Promise<string> {
    try {
      const { stackFrames } = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 20 })) as {
        stackFrames: { id: number; line: number; source?: { name?: string; path?: string } }[];
      };
      const f = stackFrames.find((s) => s.id === frameId) ?? stackFrames[0];
      // The file's base name: js-debug names sources by workspace-relative path, debugpy gives only the path.
      const file = (f?.source?.path ?? f?.source?.name ?? '?').split(/[\\/]/).pop();
      return `step ${n} · ${file}:${f?.line ?? '?'}`;
    } catch {
      return `step ${n}`;
    }
  }

  async function onStop(): Promise<void> {
    const item = vscode.debug.activeStackItem;
    if (!watch || !(item instanceof vscode.DebugStackFrame) || item.session.id !== watch.sessionId) return;
    watch.steps++;
    const label = await stepLabel(item.session, item.threadId, item.frameId, watch.steps);
    const w = watch;
    // A value that changed shape since the last stop is explained as it is now, and its history entry says so.
    const changed = (shape?: string) => (shape && w.shape && shape !== w.shape ? `${label} · shape ${w.shape} → ${shape}` : label);
    const outcome = await explainIn(item.session.id, w.expression, w.opts, changed);
    const shape = outcome.read?.shape ? formatShape(outcome.read.shape) : undefined;
    if (outcome.result && shape && w.shape && shape !== w.shape) deps.log(`debug: ${w.expression} changed shape from ${w.shape} to ${shape}`);
    if (shape) w.shape = shape;
    watchWaiters.splice(0).forEach((f) => f(outcome));
  }

  const startWatch = async (expression: string | undefined, sessionId: string | undefined, opts: DebugExplainOptions = {}) => {
    if (!expression) return report('watch', 'select an expression or a variable to watch', performance.now());
    const item = vscode.debug.activeStackItem;
    const session = item instanceof vscode.DebugStackFrame ? item.session : vscode.debug.activeDebugSession;
    if (!session) return report(expression, 'no paused debug session', performance.now());
    watch = { sessionId: sessionId ?? session.id, expression, opts, steps: 0 };
    ensurePanel().clearHistory();
    const first = await explainIn(session.id, expression, opts, `step 0 · pinned`);
    if (!opts.model && first.result) watch.opts = { ...opts, model: first.result.model.dir.startsWith('debug:') ? first.result.model.dir.replace(/^debug:(?:[^:]+:)?/, '') : 'extension' };
    return first;
  };

  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory('*', tracker),
    vscode.debug.onDidTerminateDebugSession((s) => {
      pending.sessionEnded(s.id);
      clipboard.delete(s.id);
      helperState.delete(s.id);
      if (watch?.sessionId === s.id) watch = undefined;
    }),
    vscode.debug.onDidChangeActiveStackItem(() => void onStop()),
    vscode.commands.registerCommand('xaiLens.debug.explainVariable', (arg?: unknown, opts?: DebugExplainOptions) => {
      const { sessionId, expression } = expressionOf(arg);
      if (!expression) return report('variable', 'this variable has no expression to evaluate', performance.now());
      return explainIn(sessionId, expression, opts ?? {});
    }),
    vscode.commands.registerCommand('xaiLens.debug.explainSelection', (expression?: unknown, opts?: DebugExplainOptions) => {
      const expr = typeof expression === 'string' ? expression : selection();
      if (!expr) return report('selection', 'select an expression to explain', performance.now());
      return explainIn(undefined, expr, opts ?? {});
    }),
    vscode.commands.registerCommand('xaiLens.debug.watch', (arg?: unknown, opts?: DebugExplainOptions) => {
      const { sessionId, expression } = typeof arg === 'string' ? { sessionId: undefined, expression: arg } : arg ? expressionOf(arg) : { sessionId: undefined, expression: selection() };
      return startWatch(expression, sessionId, opts);
    }),
    vscode.commands.registerCommand('xaiLens.debug.unwatch', () => {
      watch = undefined;
    }),
    { dispose: () => panel?.dispose() },
  );

  return {
    panel: () => panel,
    watched: () => (watch ? { expression: watch.expression, steps: watch.steps } : undefined),
    nextWatchUpdate: () => new Promise((resolve) => watchWaiters.push(resolve)),
  };
}
