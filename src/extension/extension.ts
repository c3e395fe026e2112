/**
 * The VS Code adapter, kept thin: commands, explorer/editor menus, a custom readonly image editor, a status bar
 * item and settings. All TensorFlow.js work happens in the engine process (started lazily on the first explanation,
 * restarted after a crash, stopped on deactivate).
 */
import * as vscode from 'vscode';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { StartupTimeline, startupLine } from './startupTimeline';
import { EngineClient } from './engineClient';
import { ExplainView } from './explainView';
import { ExplainPanel, IMAGE_EXT } from './explainPanel';
import { ResultCache } from './resultCache';
import { type GalleryPanel, registerGallery } from './galleryPanel';
import { type ComparePanel, registerCompare } from './comparePanel';
import { PANELS } from '../shared/panels';
import { backendSetting, SECTION } from './config';
import { bundledModelDir, confirmLargeModel, defaultModelDir, ensureTrusted, modelLabel, modelPathOf, pickModel, rememberModel } from './models';
import { registerDebugExplain, type DebugExplainApi } from './debug/debugExplain';
import { registerTraining, type TrainingApi } from './training/training';
import { backendLabel } from '../shared/backendLabel';
import { nativeDir, nativeModulesDir } from './nativeInstall';
import { registerNativeInstall } from './nativeInstallCommand';

export const VIEW_TYPE_PANEL = PANELS.explain.viewType;
export const VIEW_TYPE_EDITOR = 'xaiLens.imageExplainer';

/** What tests and other extensions can reach through `extension.exports`. */
export interface XaiLensApi {
  engine: EngineClient;
  /** The one explain panel (it follows the active image unless locked). */
  explainPanel: ExplainPanel;
  /** The folder gallery (*Explain Folder with XAI Lens*). */
  gallery: GalleryPanel;
  /** Two models or two images side by side. */
  compare: ComparePanel;
  /** The explain panel keyed by `<image path>\n<model dir>` (empty while it is closed). */
  readonly panels: Map<string, { panel: vscode.WebviewPanel; view: ExplainView }>;
  activeModel(): string;
  /** Explanations while debugging (src/extension/debug). */
  debug: DebugExplainApi;
  /** Training runs, the dashboard and the mistakes gallery. */
  training: TrainingApi;
  /** Where *Install Native Backend* puts the package (`<globalStorage>/native`); its staging folders lie beside it. */
  nativeBackendDir: string;
}

let engine: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): XaiLensApi {
  const timeline = new StartupTimeline();
  const output = vscode.window.createOutputChannel('XAI Lens');
  // Where XAI Lens: Install Native Backend puts tfjs-node(-gpu); engine and CLI processes look there too.
  const nativeModules = nativeModulesDir(context.globalStorageUri.fsPath);
  engine = new EngineClient({
    script: vscode.Uri.joinPath(context.extensionUri, 'dist', 'engine-process.js').fsPath,
    backend: backendSetting,
    nativeModules,
    log: (line) => output.appendLine(line),
    onStarted: (info, ms) => timeline.engineStarted(info, ms),
    onCrash: (detail) => {
      output.appendLine(`engine stopped unexpectedly: ${detail}`);
      void vscode.window.showWarningMessage(`XAI Lens: the engine stopped unexpectedly (${detail}). It restarts with the next explanation; nothing was lost.`);
      updateStatus();
    },
  });
  const client = engine;
  let activeModel = defaultModelDir(context);
  const cache = new ResultCache();
  const explainPanel = new ExplainPanel(context, client, cache, (dir) => modelLabel(context, dir), {
    webviewReady: (timing) => timeline.webviewReady(timing),
    resultArrived: (r) => timeline.resultArrived(r),
    painted: () => {
      const report = timeline.painted();
      if (!report) return;
      output.appendLine(startupLine(report));
      const file = process.env.XAI_LENS_TIMELINE_FILE;
      try {
        if (file) writeFileSync(file, `${JSON.stringify(report)}\n`);
      } catch (e) {
        output.appendLine(`cannot write the start-up timeline to ${file}: ${(e as Error).message}`);
      }
    },
  });
  const gallery = registerGallery(context, {
    engine: client,
    modelDir: () => activeModel,
    modelLabel: (dir) => modelLabel(context, dir),
    openImage: (image, dir) => explainPanel.show(image, dir),
  });
  const compare = registerCompare(context, {
    engine: client,
    cache,
    activeModel: () => activeModel,
    modelLabel: (dir) => modelLabel(context, dir),
    pickModel: () => pickModel(context),
    ensureTrusted: (dir) => ensureTrusted(context, dir),
    openImage: (image, dir) => explainPanel.show(image, dir),
  });

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = 'xaiLens.switchModel';
  const updateStatus = (backend?: string) => {
    status.text = `$(eye) ${modelLabel(context, activeModel)}${backend ? ` · ${backend}` : ''}`;
    status.tooltip = `XAI Lens model: ${activeModel}${backend ? `\nBackend: ${backend}` : '\nBackend: starts with the first explanation'}\nClick to switch model`;
  };
  updateStatus();
  status.show();

  const imageFrom = async (arg: unknown): Promise<vscode.Uri | undefined> => {
    if (arg instanceof vscode.Uri) return arg;
    const tabInput = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const active = tabInput instanceof vscode.TabInputCustom || tabInput instanceof vscode.TabInputText ? tabInput.uri : undefined;
    if (active && IMAGE_EXT.test(active.fsPath)) return active;
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: ['png', 'jpg', 'jpeg'] }, openLabel: 'Explain' });
    return picked?.[0];
  };

  const explain = async (image: vscode.Uri, modelDir: string): Promise<ExplainView | undefined> => {
    if (!IMAGE_EXT.test(image.fsPath)) {
      void vscode.window.showErrorMessage(`XAI Lens: ${basename(image.fsPath)} is not a PNG or JPEG image.`);
      return undefined;
    }
    if (!(await ensureTrusted(context, modelDir))) return undefined;
    const allowLarge = await confirmLargeModel(modelDir);
    if (allowLarge === undefined) return undefined;
    // A confirmed large model is loaded (and kept warm) before the panel asks for explanations.
    if (allowLarge) await client.request('engine/loadModel', { dir: modelDir, allowLargeModel: true });
    rememberModel(context, modelDir);
    timeline.command();
    const view = explainPanel.show(image, modelDir);
    void client.start().then((info) => updateStatus(backendLabel(info)), () => undefined);
    return view;
  };

  context.subscriptions.push(
    output,
    status,
    explainPanel,
    vscode.commands.registerCommand('xaiLens.explainWithDefault', async (arg?: unknown) => {
      const image = await imageFrom(arg);
      return image ? explain(image, bundledModelDir(context)) : undefined;
    }),
    vscode.commands.registerCommand('xaiLens.explainWithModel', async (arg?: unknown, model?: unknown) => {
      const image = await imageFrom(arg);
      if (!image) return undefined;
      // A model folder as second argument (the training notification, other extensions) skips the picker.
      const dir = typeof model === 'string' ? model : await pickModel(context);
      return dir ? explain(image, dir) : undefined;
    }),
    vscode.commands.registerCommand('xaiLens.switchModel', async (arg?: unknown) => {
      // From the explorer (Use as XAI Lens Model) the model file comes as the argument.
      const dir = arg instanceof vscode.Uri ? modelPathOf(arg.fsPath) : await pickModel(context);
      if (!dir || !(await ensureTrusted(context, dir))) return;
      const allowLargeModel = await confirmLargeModel(dir);
      if (allowLargeModel === undefined) return;
      activeModel = dir;
      rememberModel(context, dir);
      updateStatus();
      try {
        const info = await client.request('engine/loadModel', { dir, allowLargeModel });
        updateStatus(backendLabel(await client.start()));
        void vscode.window.showInformationMessage(`XAI Lens: using ${info.name} (${info.params.toLocaleString()} parameters).`);
      } catch (e) {
        void vscode.window.showErrorMessage(`XAI Lens: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('xaiLens.restartEngine', async () => {
      await client.stop();
      const info = await client.start();
      updateStatus(backendLabel(info));
      void vscode.window.showInformationMessage(`XAI Lens: engine restarted (${info.description}).`);
    }),
    registerNativeInstall(context, output),
    vscode.commands.registerCommand('xaiLens.useAsModel', (arg?: unknown) => vscode.commands.executeCommand('xaiLens.switchModel', arg)),
    vscode.commands.registerCommand('xaiLens.showModelInfo', async () => {
      const card = vscode.Uri.joinPath(vscode.Uri.file(activeModel), 'model-card.json');
      const modelFile = /\.(onnx|keras|h5|hdf5)$/i.test(activeModel);
      if (!modelFile && ((await exists(card)) || !(await exists(vscode.Uri.joinPath(vscode.Uri.file(activeModel), 'model.json'))))) {
        // A model trained by XAI Lens: its own card.
        try {
          await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(card), { preview: true });
        } catch (e) {
          void vscode.window.showErrorMessage(`XAI Lens: cannot open ${card.fsPath}: ${(e as Error).message}`);
        }
        return;
      }
      // Any other model (TF.js without a card, .keras, .h5, .onnx): a card generated by the engine, as JSON.
      try {
        const result = await client.request('engine/modelCard', { dir: activeModel });
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: 'json', content: result.json }), { preview: true });
      } catch (e) {
        void vscode.window.showErrorMessage(`XAI Lens: cannot describe ${activeModel}: ${(e as Error).message}`);
      }
    }),
    vscode.window.registerCustomEditorProvider(
      VIEW_TYPE_EDITOR,
      {
        openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
        resolveCustomEditor: (document, webviewPanel) => {
          const view = new ExplainView(context, webviewPanel.webview, client, document.uri, activeModel, { cache });
          let shown = webviewPanel.visible;
          webviewPanel.onDidChangeViewState(() => {
            if (shown && !webviewPanel.visible) view.pause();
            shown = webviewPanel.visible;
          });
          webviewPanel.onDidDispose(() => view.dispose());
        },
      } satisfies vscode.CustomReadonlyEditorProvider,
      { supportsMultipleEditorsPerDocument: true },
    ),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration(`${SECTION}.defaultModel`)) {
        activeModel = defaultModelDir(context);
        updateStatus();
      }
      if (e.affectsConfiguration(`${SECTION}.backend`) && client.running) {
        await client.stop();
        updateStatus(backendLabel(await client.start()));
      }
    }),
    { dispose: () => void client.stop() },
  );
  const debug = registerDebugExplain(context, { engine: client, activeModel: () => activeModel, log: (line) => output.appendLine(line) });
  const training = registerTraining(context, {
    engine: client, explain, pickModel: () => pickModel(context), bundledModelDir: bundledModelDir(context), rememberModel: (dir) => rememberModel(context, dir),
    nativeModules,
  });
  timeline.activated();
  return {
    engine: client,
    explainPanel,
    gallery,
    compare,
    get panels() {
      const c = explainPanel.current;
      return new Map(c ? [[`${c.view.image.fsPath}\n${c.view.model}`, c]] : []);
    },
    activeModel: () => activeModel,
    debug,
    training,
    nativeBackendDir: nativeDir(context.globalStorageUri.fsPath),
  };
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export async function deactivate(): Promise<void> {
  await engine?.stop();
}
