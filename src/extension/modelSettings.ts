/**
 * *Edit model settings…* in the explain and debugger panels: opens the model's sidecar (xai-lens.json), first writing
 * one with the values in use when there is none. The engine reads a changed sidecar on its next request.
 */
import * as vscode from 'vscode';
import { isAbsolute, relative } from 'node:path';
import { sidecarContent } from '../shared/modelFormats';
import type { ModelInfo } from '../shared/protocol';

/** Opens the sidecar; resolves with a one-line reason when it cannot. */
export async function openModelSettings(context: vscode.ExtensionContext, model: ModelInfo | undefined): Promise<string | undefined> {
  const sidecar = model?.details?.sidecar;
  if (!model?.details || !sidecar) return 'this model has no settings file (it was read from the debugger)';
  const fromExtension = relative(context.extensionUri.fsPath, sidecar.path);
  // Inside the extension unless the path climbs out of it (or, on Windows, lies on another drive).
  if (!fromExtension.startsWith('..') && !isAbsolute(fromExtension)) {
    return "the bundled model's settings are part of the extension; copy its folder to change them";
  }
  const uri = vscode.Uri.file(sidecar.path);
  try {
    const present = sidecar.exists || (await Promise.resolve(vscode.workspace.fs.stat(uri)).then(() => true, () => false));
    if (!present) await vscode.workspace.fs.writeFile(uri, Buffer.from(sidecarContent(model.name, model.classNames, model.details)));
    await vscode.window.showTextDocument(uri, { preview: false, viewColumn: vscode.ViewColumn.One });
    return undefined;
  } catch (e) {
    return `cannot open ${sidecar.path}: ${(e as Error).message}`;
  }
}
