/**
 * The VS Code adapter. Deliberately thin: it reads files and shows UI; all TensorFlow.js work runs in the engine
 * (its own process, added with the explain panel). For now it offers the bundled model card.
 */
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('xaiLens.showModelInfo', async () => {
      const card = vscode.Uri.joinPath(context.extensionUri, 'media', 'models', 'cbam-mobilenetv2-mnist', 'model-card.json');
      try {
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(card), { preview: true });
      } catch (e) {
        void vscode.window.showErrorMessage(`XAI Lens: cannot open ${card.fsPath}: ${(e as Error).message}`);
      }
    }),
  );
}

export function deactivate(): void {
  // Nothing to stop yet: the engine process arrives with the explain panel.
}
