/**
 * The VS Code adapter, kept thin: commands, explorer/editor menus, a custom readonly image editor, a status bar
 * item and settings. All TensorFlow.js work happens in the engine process (started lazily on the first explanation,
 * restarted after a crash, stopped on deactivate).
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { EngineClient } from './engineClient';
import { ExplainView } from './explainView';
import { backendSetting, SECTION } from './config';
import { backendLabel } from '../shared/backendLabel';
import { bundledModelDir, defaultModelDir, ensureTrusted, modelLabel, pickModel, rememberModel } from './models';

const IMAGE_EXT = /\.(png|jpe?g)$/i;
export const VIEW_TYPE_PANEL = 'xaiLens.explain';
export const VIEW_TYPE_EDITOR = 'xaiLens.imageExplainer';

/** What tests and other extensions can reach through `extension.exports`. */
export interface XaiLensApi {
  engine: EngineClient;
  /** Open panels by image path. */
  panels: Map<string, { panel: vscode.WebviewPanel; view: ExplainView }>;
  activeModel(): string;
}

let engine: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): XaiLensApi {
  const output = vscode.window.createOutputChannel('XAI Lens');
  engine = new EngineClient({
    script: vscode.Uri.joinPath(context.extensionUri, 'dist', 'engine-process.js').fsPath,
    backend: backendSetting,
    log: (line) => output.appendLine(line),
    onCrash: (detail) => {
      output.appendLine(`engine stopped unexpectedly: ${detail}`);
      void vscode.window.showWarningMessage(`XAI Lens: the engine stopped unexpectedly (${detail}). It restarts with the next explanation; nothing was lost.`);
      updateStatus();
    },
  });
  const client = engine;
  let activeModel = defaultModelDir(context);
  const panels = new Map<string, { panel: vscode.WebviewPanel; view: ExplainView }>();

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
    rememberModel(context, modelDir);
    const key = `${image.fsPath}\n${modelDir}`;
    const existing = panels.get(key);
    if (existing) {
      existing.panel.reveal();
      return existing.view;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE_PANEL, `Explain ${basename(image.fsPath)} · ${modelLabel(context, modelDir)}`, vscode.ViewColumn.Beside, {
      enableScripts: true,
    });
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
    const view = new ExplainView(context, panel.webview, client, image, modelDir);
    panels.set(key, { panel, view });
    panel.onDidDispose(() => {
      view.dispose();
      panels.delete(key);
    });
    void client.start().then((info) => updateStatus(backendLabel(info)), () => undefined);
    return view;
  };

  context.subscriptions.push(
    output,
    status,
    vscode.commands.registerCommand('xaiLens.explainWithDefault', async (arg?: unknown) => {
      const image = await imageFrom(arg);
      return image ? explain(image, bundledModelDir(context)) : undefined;
    }),
    vscode.commands.registerCommand('xaiLens.explainWithModel', async (arg?: unknown) => {
      const image = await imageFrom(arg);
      if (!image) return undefined;
      const dir = await pickModel(context);
      return dir ? explain(image, dir) : undefined;
    }),
    vscode.commands.registerCommand('xaiLens.switchModel', async () => {
      const dir = await pickModel(context);
      if (!dir || !(await ensureTrusted(context, dir))) return;
      activeModel = dir;
      rememberModel(context, dir);
      updateStatus();
      try {
        const info = await client.request('engine/loadModel', { dir });
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
    vscode.commands.registerCommand('xaiLens.showModelInfo', async () => {
      const card = vscode.Uri.joinPath(vscode.Uri.file(activeModel), 'model-card.json');
      try {
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(card), { preview: true });
      } catch (e) {
        void vscode.window.showErrorMessage(`XAI Lens: cannot open ${card.fsPath}: ${(e as Error).message}`);
      }
    }),
    vscode.window.registerCustomEditorProvider(
      VIEW_TYPE_EDITOR,
      {
        openCustomDocument: (uri) => ({ uri, dispose: () => undefined }),
        resolveCustomEditor: (document, webviewPanel) => {
          const view = new ExplainView(context, webviewPanel.webview, client, document.uri, activeModel);
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
  return { engine: client, panels, activeModel: () => activeModel };
}

export async function deactivate(): Promise<void> {
  await engine?.stop();
}
