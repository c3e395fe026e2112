/**
 * The extension loads in a real VS Code host, activates, registers its commands, and xaiLens.showModelInfo does what it
 * says: it opens the active model's card, or — while the default model has not been trained yet — reports the missing
 * file (with an error notification) instead of opening anything.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './host';

const COMMAND = 'xaiLens.showModelInfo';

type CommandContribution = { command: string; title: string; category?: string };

function contributedCommands(): CommandContribution[] {
  return (getExtension().packageJSON.contributes?.commands ?? []) as CommandContribution[];
}

function getExtension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this host`);
  return ext;
}

describe('XAI Lens extension', function () {
  it('is present in the extension host', function () {
    const ext = getExtension();
    assert.equal(ext.packageJSON.name, 'xai-lens');
    assert.equal(ext.packageJSON.main, './dist/extension.js');
  });

  it('activates', async function () {
    const ext = getExtension();
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it(`registers the command ${COMMAND} contributed in package.json`, async function () {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes(COMMAND), `${COMMAND} is not registered`);
    const entry = contributedCommands().find((c) => c.command === COMMAND);
    assert.ok(entry, `${COMMAND} is not contributed in package.json`);
    assert.equal(entry.category, 'XAI Lens', 'the UI tests find the command by "XAI Lens: <title>"');
  });

  it('registers every command it contributes', async function () {
    const commands = new Set(await vscode.commands.getCommands(true));
    const missing = contributedCommands().map((c) => c.command).filter((c) => !commands.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  describe(`command ${COMMAND}`, function () {
    // The card of the active model (the bundled CBAM-MobileNetV2 unless the xaiLens.defaultModel setting says otherwise).
    const cardPath = (): string => {
      const ext = getExtension();
      const api = ext.exports as { activeModel?: () => string } | undefined;
      const dir = api?.activeModel?.() ?? path.join(ext.extensionPath, 'media', 'models', 'cbam-mobilenetv2-mnist');
      return path.join(dir, 'model-card.json');
    };

    beforeEach(async function () {
      await getExtension().activate();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('opens the model card in a text editor, or reports that it is missing without opening one', async function () {
      const card = cardPath();
      const exists = fs.existsSync(card);
      await vscode.commands.executeCommand(COMMAND); // must not throw either way: errors go to a notification
      if (exists) {
        const editor = vscode.window.activeTextEditor;
        assert.ok(editor, 'no active text editor after the command');
        assert.equal(editor.document.uri.fsPath, card);
        const parsed = JSON.parse(editor.document.getText()) as unknown;
        assert.ok(parsed !== null && typeof parsed === 'object', 'model-card.json is not a JSON object');
      } else {
        // The default model is still being trained: nothing may open on a file that does not exist.
        const opened = vscode.window.visibleTextEditors.some((e) => e.document.uri.fsPath === card);
        assert.equal(opened, false, `an editor opened on the missing ${card}`);
      }
    });
  });

  it('runs with the fixture workspace open', async function () {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    const names = (await vscode.workspace.fs.readDirectory(folder.uri)).map(([name]) => name);
    for (const expected of ['digit.png', 'corrupt.png']) assert.ok(names.includes(expected), `${expected} missing from ${folder.uri.fsPath}`);
  });
});
