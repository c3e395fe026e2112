/**
 * The one explain panel that follows you, in a real VS Code host: explaining five images in a row gives one panel and
 * at most two editor groups (and no image preview), switching to another image editor re-targets it, the lock keeps
 * it on its image, and going back to an image shows its cached result at once.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './host';


interface ViewLike {
  image: vscode.Uri;
  result?: { imagePath: string; prediction: { label: number } };
}
interface Api {
  explainPanel: {
    current?: { panel: vscode.WebviewPanel; view: ViewLike };
    locked: boolean;
    setLocked(locked: boolean): void;
    show(image: vscode.Uri, modelDir: string): ViewLike;
  };
  activeModel(): string;
}

async function until<T>(what: string | (() => string), f: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs);
}

/** The editor layout in words, for failure messages: groups and their tabs (* active). */
function layout(): string {
  return vscode.window.tabGroups.all.map((g) => `[${g.viewColumn}${g.isActive ? '*' : ''}: ${g.tabs.map((t) => `${t.label}${t.isActive ? '*' : ''}`).join(', ')}]`).join(' ');
}

function explainTabs(): vscode.Tab[] {
  return allTabs().filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('xaiLens.explain'));
}

describe('XAI Lens explain panel follows the active image', function () {
  this.timeout(240_000);
  let api: Api;
  const digits: vscode.Uri[] = [];

  before(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the fixture workspace is not open');
    // Five digits copied from the bundled samples into the workspace.
    const dir = vscode.Uri.joinPath(folder.uri, 'follow-digits');
    await vscode.workspace.fs.createDirectory(dir);
    for (const d of [1, 2, 3, 4, 5]) {
      const to = vscode.Uri.joinPath(dir, `digit-${d}.png`);
      await vscode.workspace.fs.copy(vscode.Uri.joinPath(ext.extensionUri, 'media', 'samples', `digit-${d}.png`), to, { overwrite: true });
      digits.push(to);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    api.explainPanel.setLocked(false);
  });

  it('five images explained in a row give one panel, at most two editor groups and no image preview', async () => {
    for (const image of digits) {
      await vscode.commands.executeCommand('xaiLens.explainWithDefault', image);
      await new Promise((r) => setTimeout(r, 300));
    }
    const current = api.explainPanel.current;
    assert.ok(current);
    await until(() => `the panel's tab (${layout()})`, () => explainTabs().length > 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(explainTabs().length, 1, `one explain panel: ${layout()}`);
    assert.ok(vscode.window.tabGroups.all.length <= 2, `at most two editor groups: ${layout()}`);
    assert.equal(allTabs().length, 1, `only the panel is open, no image preview: ${layout()}`);
    assert.equal(current.view.image.fsPath, digits[4].fsPath);
    const result = await until('the last image explained', () => current.view.result);
    assert.equal(result.imagePath, digits[4].fsPath);
    assert.equal(result.prediction.label, 5);
    assert.match(current.panel.title, /^digit-5\.png · /);
  });

  it('re-targets when another image editor becomes active, and the lock keeps it on its image', async () => {
    // Opening an image as selecting it in the explorer does (a preview in the first group).
    await vscode.commands.executeCommand('vscode.open', digits[2], { viewColumn: vscode.ViewColumn.One, preview: true });
    const current = api.explainPanel.current!;
    await until(() => `the panel to follow digit-3 (${layout()})`, () => current.view.image.fsPath === digits[2].fsPath);
    const r3 = await until(() => `digit-3 explained (${layout()}, panel visible: ${current.panel.visible})`, () => current.view.result?.imagePath === digits[2].fsPath && current.view.result);
    assert.equal(r3.prediction.label, 3);
    assert.equal(explainTabs().length, 1);
    assert.ok(vscode.window.tabGroups.all.length <= 2);

    await vscode.commands.executeCommand('xaiLens.togglePanelLock');
    assert.equal(api.explainPanel.locked, true);
    assert.match(current.panel.title, /^\[Locked\] digit-3\.png/);
    await vscode.commands.executeCommand('vscode.open', digits[0], { viewColumn: vscode.ViewColumn.One, preview: true });
    await vscode.commands.executeCommand('vscode.open', digits[1], { viewColumn: vscode.ViewColumn.One, preview: false });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(current.view.image.fsPath, digits[2].fsPath, 'the locked panel stays on digit-3');
    assert.equal(current.view.result?.imagePath, digits[2].fsPath);

    // Unlocked, it follows the active image again.
    await vscode.commands.executeCommand('xaiLens.togglePanelLock');
    await until('the panel to follow digit-2', () => current.view.image.fsPath === digits[1].fsPath);
    assert.equal((await until('digit-2 explained', () => current.view.result)).prediction.label, 2);
  });

  it('going back to an image shows its cached result at once', () => {
    const view = api.explainPanel.show(digits[2], api.activeModel());
    // No await: a cached result is there synchronously.
    assert.equal(view.result?.imagePath, digits[2].fsPath);
    assert.equal(view.result?.prediction.label, 3);
    assert.equal(explainTabs().length, 1);
  });

  after(async () => {
    api.explainPanel.setLocked(false);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
