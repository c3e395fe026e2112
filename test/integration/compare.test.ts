/**
 * Compare in a real VS Code host: two models on one image side by side (the bundled model and a copy of it, so the
 * known answer is identical maps), and two images with one model; one compare panel, reused.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './host';


type Result = { imagePath: string; model: { dir: string }; prediction: { label: number }; methods: { method: string; data: number[] }[] };
interface Api {
  compare: {
    compare(targets: { image: vscode.Uri; modelDir: string }[]): Promise<(Result | undefined)[]>;
    current: { sides: readonly { modelLabel: string; imageName: string; busy: boolean; result?: Result }[] };
  };
  activeModel(): string;
}

describe('XAI Lens compare', function () {
  this.timeout(240_000);
  let api: Api;
  let copy: vscode.Uri;
  const cfg = () => vscode.workspace.getConfiguration('xaiLens');

  before(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    const root = vscode.workspace.workspaceFolders![0].uri;
    copy = vscode.Uri.joinPath(root, 'models', 'cbam-copy');
    await vscode.workspace.fs.copy(vscode.Uri.file(api.activeModel()), copy, { overwrite: true });
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(ext.extensionUri, 'media', 'samples', 'digit-1.png'), vscode.Uri.joinPath(root, 'cmp', 'digit-1.png'), { overwrite: true });
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(ext.extensionUri, 'media', 'samples', 'digit-2.png'), vscode.Uri.joinPath(root, 'cmp', 'digit-2.png'), { overwrite: true });
    await cfg().update('methods', ['gradcam', 'gradients', 'lime'], vscode.ConfigurationTarget.Workspace);
    await cfg().update('explainer.lime.samples', 100, vscode.ConfigurationTarget.Workspace);
  });

  it('shows two models side by side with the same methods (a copy of a model gives the same maps)', async () => {
    const image = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'digit.png');
    const [a, b] = await api.compare.compare([{ image, modelDir: api.activeModel() }, { image, modelDir: copy.fsPath }]);
    assert.ok(a && b);
    assert.notEqual(a.model.dir, b.model.dir);
    assert.deepEqual(a.methods.map((m) => m.method), ['gradcam', 'gradients', 'lime']);
    assert.deepEqual(b.methods.map((m) => m.method), ['gradcam', 'gradients', 'lime']);
    assert.deepEqual([a.prediction.label, b.prediction.label], [7, 7]);
    for (let i = 0; i < a.methods.length; i++) assert.deepEqual(a.methods[i].data, b.methods[i].data, a.methods[i].method);
    const sides = api.compare.current.sides;
    assert.equal(sides.length, 2);
    assert.deepEqual(sides.map((s) => s.busy), [false, false]);
    assert.equal(sides[1].modelLabel, 'cbam-copy');
    assert.notEqual(sides[0].modelLabel, sides[1].modelLabel);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('xaiLens.compare'));
    assert.equal(tabs.length, 1);
  });

  it('compares two images with one model in the same panel', async () => {
    const root = vscode.workspace.workspaceFolders![0].uri;
    const results = await vscode.commands.executeCommand<(Result | undefined)[]>('xaiLens.compareImages', vscode.Uri.joinPath(root, 'cmp', 'digit-1.png'), [
      vscode.Uri.joinPath(root, 'cmp', 'digit-1.png'),
      vscode.Uri.joinPath(root, 'cmp', 'digit-2.png'),
    ]);
    assert.deepEqual(results.map((r) => r?.prediction.label), [1, 2]);
    assert.deepEqual(api.compare.current.sides.map((s) => s.imageName), ['cmp/digit-1.png', 'cmp/digit-2.png']);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('xaiLens.compare'));
    assert.equal(tabs.length, 1);
  });

  after(async () => {
    await cfg().update('methods', undefined, vscode.ConfigurationTarget.Workspace);
    await cfg().update('explainer.lime.samples', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
