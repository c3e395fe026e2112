/** Which model to explain with: the bundled one, a workspace folder, a recent one, or one the user browses to. */
import * as vscode from 'vscode';
import { statSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { defaultModelSetting } from './config';
import { LARGE_MODEL_BYTES, MODEL_FORMATS, modelFileGlob } from '../shared/modelFormats';

const RECENT_KEY = 'xaiLens.recentModels';
export const BUNDLED_LABEL = 'CBAM-MobileNetV2 (bundled, MNIST)';

export function bundledModelDir(context: vscode.ExtensionContext): string {
  return vscode.Uri.joinPath(context.extensionUri, 'media', 'models', 'cbam-mobilenetv2-mnist').fsPath;
}

/** The model used when none is named: the `xaiLens.defaultModel` setting, else the bundled one. */
export function defaultModelDir(context: vscode.ExtensionContext): string {
  return defaultModelSetting() || bundledModelDir(context);
}

export function modelLabel(context: vscode.ExtensionContext, dir: string): string {
  return dir === bundledModelDir(context) ? 'CBAM-MobileNetV2' : basename(dir);
}

/** The model a workspace file stands for: a model.json's folder, or the model file itself. */
export function modelPathOf(file: string): string {
  return basename(file).toLowerCase() === 'model.json' ? dirname(file) : file;
}

function sizeOf(path: string): number {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return st.size;
    return 0;
  } catch {
    return 0;
  }
}

/**
 * A model over LARGE_MODEL_BYTES asks before it is loaded. Returns whether the engine may load a large model
 * (false: the model is small), or undefined when the user declined.
 */
export async function confirmLargeModel(path: string): Promise<boolean | undefined> {
  const bytes = sizeOf(path);
  if (bytes <= LARGE_MODEL_BYTES) return false;
  const load = 'Load';
  const choice = await vscode.window.showWarningMessage(
    `XAI Lens: "${basename(path)}" is ${(bytes / 1024 / 1024).toFixed(0)} MB. Loading it may take a while and much memory.`,
    { modal: true },
    load,
  );
  return choice === load ? true : undefined;
}

export function rememberModel(context: vscode.ExtensionContext, dir: string): void {
  const recent = context.globalState.get<string[]>(RECENT_KEY, []).filter((d) => d !== dir);
  void context.globalState.update(RECENT_KEY, [dir, ...recent].slice(0, 8));
}

function insideWorkspace(dir: string): boolean {
  return (vscode.workspace.workspaceFolders ?? []).some((f) => dir === f.uri.fsPath || dir.startsWith(f.uri.fsPath + '/') || dir.startsWith(f.uri.fsPath + '\\'));
}

/**
 * A model from the workspace is code-like input (its files drive what the engine loads), so in an untrusted
 * workspace it needs trust; the bundled model always works. Returns false when the user declines.
 */
export async function ensureTrusted(context: vscode.ExtensionContext, dir: string): Promise<boolean> {
  if (vscode.workspace.isTrusted || dir === bundledModelDir(context) || !insideWorkspace(dir)) return true;
  const manage = 'Manage Workspace Trust';
  const choice = await vscode.window.showWarningMessage(
    `XAI Lens: loading the model in "${basename(dir)}" from this workspace needs a trusted workspace. The bundled model works without trust.`,
    { modal: true },
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

interface ModelPick extends vscode.QuickPickItem {
  dir?: string;
  browse?: boolean;
}

export async function pickModel(context: vscode.ExtensionContext): Promise<string | undefined> {
  const items: ModelPick[] = [{ label: BUNDLED_LABEL, description: 'bundled', dir: bundledModelDir(context) }];
  const found = await vscode.workspace.findFiles(modelFileGlob(), '**/node_modules/**', 100);
  const workspaceDirs = [...new Set(found.map((u) => modelPathOf(u.fsPath)))];
  if (workspaceDirs.length) items.push({ label: 'Workspace', kind: vscode.QuickPickItemKind.Separator });
  for (const dir of workspaceDirs) {
    const ext = extname(dir).toLowerCase();
    const format = MODEL_FORMATS.find((f) => f.id !== 'tfjs-layers' && f.id !== 'tfjs-graph' && f.extensions.includes(ext));
    items.push({ label: basename(dir), description: `${vscode.workspace.asRelativePath(dir)} · ${format?.label ?? 'TensorFlow.js model'}`, dir });
  }
  const recent = context.globalState.get<string[]>(RECENT_KEY, []).filter((d) => !workspaceDirs.includes(d) && d !== bundledModelDir(context));
  if (recent.length) items.push({ label: 'Recently used', kind: vscode.QuickPickItemKind.Separator });
  for (const dir of recent) items.push({ label: basename(dir), description: dir, dir });
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(folder-opened) Browse…', browse: true });
  const pick = await vscode.window.showQuickPick(items, { title: 'XAI Lens: choose a model', placeHolder: 'a TensorFlow.js model folder, or a .keras, .h5 or .onnx file' });
  if (!pick) return undefined;
  if (pick.browse) {
    const uris = await vscode.window.showOpenDialog({
      canSelectFolders: false,
      canSelectFiles: true,
      filters: { Models: [...new Set(MODEL_FORMATS.flatMap((f) => f.extensions.map((e) => e.slice(1))))] },
      openLabel: 'Use this model',
    });
    return uris?.[0] ? modelPathOf(uris[0].fsPath) : undefined;
  }
  return pick.dir;
}
