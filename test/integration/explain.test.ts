/**
 * The explain flow in a real VS Code host: contributions and when-clauses, settings, the custom editor, "Explain with
 * CBAM-MobileNetV2" on the fixture PNG (the engine answers with a prediction and a map per method), a corrupt PNG,
 * and a restart after the engine process is killed.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { extension as hostExtension, fixture } from './host';

const IMAGE_WHEN = 'resourceExtname =~ /^\\.(png|jpe?g)$/i';

interface ExplainViewLike {
  result?: { prediction: { label: number }; methods: { method: string; data: number[]; attention?: { layer: string; kind: string; channelGate?: number[] } }[]; counterfactual?: { label: number } };
  explain(opts: object): Promise<ExplainViewLike['result'] | undefined>;
}
interface Api {
  engine: { pid?: number; running: boolean };
  panels: Map<string, { panel: vscode.WebviewPanel; view: ExplainViewLike }>;
  activeModel(): string;
}

function extension(): vscode.Extension<Api> {
  return hostExtension<Api>();
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 50_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('XAI Lens explain', function () {
  this.timeout(120_000);
  let api: Api;

  before(async () => {
    api = await extension().activate();
  });

  it('contributes the explain commands to the explorer and editor title for PNG/JPEG only', () => {
    const c = extension().packageJSON.contributes;
    for (const menu of ['explorer/context', 'editor/title']) {
      const entries = (c.menus[menu] as { command: string; when: string }[]).filter((e) => e.command.startsWith('xaiLens.explainWith'));
      assert.deepEqual(entries.map((e) => e.command).sort(), ['xaiLens.explainWithDefault', 'xaiLens.explainWithModel'], menu);
      for (const e of entries) assert.equal(e.when, IMAGE_WHEN, `${menu} ${e.command}`);
    }
    const titles = Object.fromEntries((c.commands as { command: string; title: string }[]).map((x) => [x.command, x.title]));
    assert.equal(titles['xaiLens.explainWithDefault'], 'Explain with CBAM-MobileNetV2');
    assert.equal(titles['xaiLens.explainWithModel'], 'Explain with Model…');
    const re = /^\.(png|jpe?g)$/i;
    assert.ok(re.test('.png') && re.test('.JPG') && re.test('.jpeg') && !re.test('.gif') && !re.test('.png.txt'));
  });

  it('contributes the custom editor with priority "option" and the settings with their defaults', () => {
    const c = extension().packageJSON.contributes;
    const editor = (c.customEditors as { viewType: string; displayName: string; priority: string }[])[0];
    assert.deepEqual([editor.viewType, editor.displayName, editor.priority], ['xaiLens.imageExplainer', 'XAI Lens Image Explainer', 'option']);
    const cfg = vscode.workspace.getConfiguration('xaiLens');
    assert.equal(cfg.get('backend'), 'auto');
    assert.equal(cfg.get('explainer.lime.samples'), 1000);
    assert.equal(cfg.get('explainer.smoothgrad.samples'), 50);
    assert.equal(cfg.get('explainer.ig.steps'), 50);
    assert.equal(cfg.get('counterfactual'), 'gradient');
    assert.equal(cfg.get('colormap'), 'viridis');
    assert.equal((cfg.get('methods') as string[]).length, 8);
  });

  it('"Explain with CBAM-MobileNetV2" on a PNG opens the panel and the engine answers with a prediction and a map per method', async () => {
    const image = fixture('digit.png');
    await vscode.commands.executeCommand('xaiLens.explainWithDefault', image);
    const entry = await until('the explain panel', () => [...api.panels.entries()].find(([k]) => k.startsWith(image.fsPath))?.[1]);
    assert.equal(entry.panel.viewType, 'xaiLens.explain');
    // The webview loads, says "ready", and the view runs the first explanation.
    const result = await until('the first explanation', () => entry.view.result, 90_000);
    assert.equal(result.prediction.label, 7);
    assert.deepEqual(result.methods.map((m) => m.method), ['gradcam', 'gradcampp', 'scorecam', 'gradients', 'smoothgrad', 'ig', 'lime', 'attention']);
    // The bundled model's last CBAM: its spatial gate and channel gate reach the panel.
    const att = result.methods[7].attention;
    assert.equal(att?.layer, 'top_cbam');
    assert.equal(att?.kind, 'spatial-gate');
    assert.equal(att?.channelGate?.length, 256);
    for (const m of result.methods) assert.equal(m.data.length, 784, m.method);
    assert.ok(result.counterfactual && result.counterfactual.label !== 7);
    assert.ok(api.engine.running);
  });

  it('opens a PNG in the custom editor "XAI Lens Image Explainer"', async () => {
    await vscode.commands.executeCommand('vscode.openWith', fixture('digit.png'), 'xaiLens.imageExplainer');
    const input = await until('the custom editor tab', () => {
      const i = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return i instanceof vscode.TabInputCustom ? i : undefined;
    });
    assert.equal(input.viewType, 'xaiLens.imageExplainer');
    assert.equal(input.uri.fsPath, fixture('digit.png').fsPath);
  });

  it('a corrupt PNG gives an error, not a crash, and the engine keeps answering', async () => {
    await vscode.commands.executeCommand('xaiLens.explainWithDefault', fixture('corrupt.png'));
    const entry = await until('the corrupt panel', () => [...api.panels.entries()].find(([k]) => k.startsWith(fixture('corrupt.png').fsPath))?.[1]);
    assert.equal(await entry.view.explain({}), undefined, 'no result for a corrupt image');
    assert.equal(entry.view.result, undefined);
    await vscode.commands.executeCommand('xaiLens.explainWithDefault', fixture('digit.png'));
    const good = [...api.panels.entries()].find(([k]) => k.startsWith(fixture('digit.png').fsPath))![1];
    const again = await good.view.explain({ counterfactual: 'none' });
    assert.equal(again?.prediction.label, 7);
  });

  it('restarts the engine after its process is killed, and the next request works', async () => {
    const pid = api.engine.pid;
    assert.ok(pid, 'the engine is running');
    process.kill(pid, 'SIGKILL');
    await until('the engine to stop', () => (api.engine.running ? undefined : true), 10_000);
    const good = [...api.panels.entries()].find(([k]) => k.startsWith(fixture('digit.png').fsPath))![1];
    // Class 3 was not asked for before, so the result is not in the cache and the engine has to answer.
    const r = await good.view.explain({ counterfactual: 'none', target: 3 });
    assert.equal(r?.prediction.label, 7);
    assert.ok(api.engine.pid && api.engine.pid !== pid, 'a new engine process');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
