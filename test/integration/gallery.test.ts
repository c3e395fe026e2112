/**
 * The folder gallery in a real VS Code host: *Explain Folder with XAI Lens* on a folder of 50 images streams items
 * while it runs and stops when cancelled; a small folder runs to the end with the right predictions, exports CSV and
 * JSON, and opening an image gives the explain panel.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './host';


type Item = { file: string; relative: string; label?: number; confidence?: number; error?: string };
interface Run {
  items: Item[];
  done: number;
  total: number;
  finished?: { cancelled: boolean; explained: number; failed: number };
  ended: Promise<void>;
}
interface Api {
  gallery: { current?: Run; cancel(): void; export(run: Run, format: 'csv' | 'json'): Promise<vscode.Uri | undefined> };
  explainPanel: { current?: { panel: vscode.WebviewPanel; view: { image: vscode.Uri; result?: { prediction: { label: number } } } } };
}

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('XAI Lens folder gallery', function () {
  this.timeout(240_000);
  let api: Api;
  let fifty: vscode.Uri;
  let ten: vscode.Uri;

  before(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    const root = vscode.workspace.workspaceFolders![0].uri;
    fifty = vscode.Uri.joinPath(root, 'gallery-50');
    ten = vscode.Uri.joinPath(root, 'gallery-10');
    for (let i = 0; i < 50; i++) {
      const sample = vscode.Uri.joinPath(ext.extensionUri, 'media', 'samples', `digit-${i % 10}.png`);
      await vscode.workspace.fs.copy(sample, vscode.Uri.joinPath(fifty, `img-${String(i).padStart(2, '0')}.png`), { overwrite: true });
      if (i < 10) await vscode.workspace.fs.copy(sample, vscode.Uri.joinPath(ten, `digit-${i}.png`), { overwrite: true });
    }
  });

  it('contributes "Explain Folder with XAI Lens" to folders in the explorer', () => {
    const c = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes;
    const entry = (c.menus['explorer/context'] as { command: string; when: string }[]).find((e) => e.command === 'xaiLens.explainFolder');
    assert.equal(entry?.when, 'explorerResourceIsFolder');
    assert.equal((c.commands as { command: string; title: string }[]).find((x) => x.command === 'xaiLens.explainFolder')?.title, 'Explain Folder with XAI Lens');
  });

  it('a folder of 50 images streams its items and stops when cancelled', async () => {
    const run = (await vscode.commands.executeCommand('xaiLens.explainFolder', fifty)) as Run;
    assert.ok(run && run === api.gallery.current);
    await until('the first items', () => run.items.length >= 3);
    assert.equal(run.finished, undefined, 'items arrive while the run goes on');
    assert.equal(run.total, 50);
    api.gallery.cancel();
    await run.ended;
    assert.equal((run as Run).finished?.cancelled, true);
    assert.ok(run.items.length < 50, `${run.items.length} of 50 after cancel`);
    const at = run.items.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(run.items.length, at, 'nothing arrives after the cancel');
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('xaiLens.gallery'));
    assert.equal(tabs.length, 1);
  });

  it('a folder of 10 digits runs to the end, exports CSV and JSON, and an image opens in the explain panel', async () => {
    const run = (await vscode.commands.executeCommand('xaiLens.explainFolder', ten)) as Run;
    await run.ended;
    assert.deepEqual(run.finished && [run.finished.cancelled, run.finished.explained, run.finished.failed], [false, 10, 0]);
    assert.deepEqual(run.items.map((i) => i.relative), Array.from({ length: 10 }, (_, d) => `digit-${d}.png`));
    const correct = run.items.filter((i) => i.label === Number(/digit-(\d)/.exec(i.relative)![1])).length;
    assert.ok(correct >= 9, `${correct} of 10 sample digits predicted right`);

    const csv = await api.gallery.export(run, 'csv');
    assert.ok(csv);
    const lines = new TextDecoder().decode(await vscode.workspace.fs.readFile(csv)).trimEnd().split('\n');
    assert.equal(lines[0], 'file,label,class_name,confidence,top2_label,top2_probability,top3_label,top3_probability,error');
    assert.equal(lines.length, 11);
    assert.match(lines[8], /^digit-7\.png,7,7,0\.9\d*,/);
    const json = await api.gallery.export(run, 'json');
    const records = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(json!))) as { file: string; label: number }[];
    assert.deepEqual(records.map((r) => r.file), run.items.map((i) => i.relative));

    await vscode.commands.executeCommand('xaiLens.explainFolder', ten);
    const image = vscode.Uri.joinPath(ten, 'digit-3.png');
    // What a click on a thumbnail posts.
    (api.gallery as unknown as { onMessage(m: object): Promise<void> }).onMessage({ type: 'open', file: image.fsPath });
    const panel = await until('the explain panel', () => api.explainPanel.current);
    assert.equal(panel.view.image.fsPath, image.fsPath);
    assert.equal((await until('digit-3 explained', () => panel.view.result)).prediction.label, 3);
    api.gallery.cancel();
  });

  after(async () => {
    api.gallery.cancel();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
