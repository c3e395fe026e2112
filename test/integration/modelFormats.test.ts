/**
 * Model formats in the real host: *Use as XAI Lens Model* on an ONNX file makes it the active model, and *Show Model
 * Card* then opens the card the engine generates for it (format, input shape, classes, layers).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

describe('model formats in VS Code', function () {
  this.timeout(120_000);

  it('Use as XAI Lens Model on an .onnx file, then Show Model Card opens its generated card', async function () {
    const ext = vscode.extensions.getExtension('xai-lens.xai-lens');
    assert.ok(ext);
    await ext.activate();
    const api = ext.exports as { activeModel(): string };
    const before = api.activeModel();
    const file = path.join(ext.extensionPath, 'test', 'fixtures', 'models', 'onnx', 'cnn28.onnx');
    try {
      await vscode.commands.executeCommand('xaiLens.useAsModel', vscode.Uri.file(file));
      assert.equal(api.activeModel(), file);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('xaiLens.showModelInfo');
      const editor = vscode.window.activeTextEditor;
      assert.ok(editor, 'no editor opened');
      const card = JSON.parse(editor.document.getText()) as { modelFormat: string; inputShape: number[]; numClasses: number; layers: unknown[] };
      assert.equal(card.modelFormat, 'onnx');
      assert.deepEqual(card.inputShape, [28, 28, 1]);
      assert.equal(card.numClasses, 10);
      assert.ok(card.layers.length > 10);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('xaiLens.useAsModel', vscode.Uri.file(before));
    }
  });
});
