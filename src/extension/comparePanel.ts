/**
 * Compare: two models on one image (*Compare Models…*), or two images with one model (*Compare Images* on two images
 * selected in the explorer), side by side in one reused panel, explained with the same methods, options and display
 * settings, one side after the other. Results come from and go to the explain panel's cache.
 */
import * as vscode from 'vscode';
import type { CompareSide, FromCompare, ToCompare } from '../shared/compare';
import { PANELS } from '../shared/panels';
import type { ExplainResultPayload } from '../shared/protocol';
import { methodOptions, methodsSetting, panelSettings } from './config';
import { type EngineClient, EngineError } from './engineClient';
import type { ExplainRequest, ResultCache } from './resultCache';
import { PanelChannel } from './webviewPanel';

export interface CompareDeps {
  engine: EngineClient;
  cache: ResultCache;
  activeModel: () => string;
  modelLabel: (dir: string) => string;
  pickModel: () => Promise<string | undefined>;
  ensureTrusted: (dir: string) => Promise<boolean>;
  openImage: (image: vscode.Uri, modelDir: string) => void;
}

export interface CompareTarget {
  image: vscode.Uri;
  modelDir: string;
}

export class ComparePanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private channel?: PanelChannel<ToCompare, FromCompare>;
  private targets: CompareTarget[] = [];
  private sides: CompareSide[] = [];
  private source?: vscode.CancellationTokenSource;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: CompareDeps,
  ) {}

  /** What is shown now (tests read it). */
  get current(): { targets: readonly CompareTarget[]; sides: readonly CompareSide[] } {
    return { targets: this.targets, sides: this.sides };
  }

  /** Explains every target with the same settings, one after the other; resolves with the results. */
  async compare(targets: CompareTarget[]): Promise<(ExplainResultPayload | undefined)[]> {
    this.source?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.source = source;
    this.targets = targets;
    this.sides = targets.map((t) => ({ imageName: vscode.workspace.asRelativePath(t.image, false), modelLabel: this.deps.modelLabel(t.modelDir), busy: true }));
    this.open();
    this.send();
    const results: (ExplainResultPayload | undefined)[] = [];
    const counterfactual = 'none' as const;
    for (const [i, t] of targets.entries()) {
      const params: ExplainRequest = { modelDir: t.modelDir, imagePath: t.image.fsPath, methods: methodsSetting(), counterfactual, methodOptions: methodOptions(this.context.extension) };
      let result = this.deps.cache.get(params);
      try {
        result ??= await this.deps.engine.request('engine/explain', params, {
          token: source.token,
          onPartial: (partial) => {
            if (this.source !== source) return;
            this.sides[i] = { ...this.sides[i], result: partial };
            this.send();
          },
        });
        this.deps.cache.set(params, result);
        if (this.source === source) this.sides[i] = { ...this.sides[i], result, busy: false };
      } catch (e) {
        if (this.source === source) this.sides[i] = { ...this.sides[i], busy: false, error: e instanceof EngineError && e.cancelled ? 'cancelled' : e instanceof Error ? e.message : String(e) };
      }
      if (this.source !== source) break;
      this.send();
      results.push(result);
    }
    return results;
  }

  private open(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(PANELS.compare.viewType, PANELS.compare.title, { viewColumn: vscode.ViewColumn.Active }, { enableScripts: true });
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    this.channel = new PanelChannel(this.context, panel.webview, PANELS.compare, (m) => this.onMessage(m));
    panel.onDidDispose(() => {
      this.source?.cancel();
      this.channel?.dispose();
      this.panel = undefined;
      this.channel = undefined;
    });
    this.panel = panel;
  }

  private send(): void {
    this.channel?.post({ type: 'sides', sides: this.sides, settings: panelSettings() });
  }

  private onMessage(m: FromCompare): void {
    if (m.type === 'ready') this.send();
    else if (m.type === 'open' && this.targets[m.index]) this.deps.openImage(this.targets[m.index].image, this.targets[m.index].modelDir);
  }

  dispose(): void {
    this.source?.cancel();
    this.panel?.dispose();
  }
}

/** Registers *Compare Models…* (an image, the active model and one picked) and *Compare Images* (two selected images). */
export function registerCompare(context: vscode.ExtensionContext, deps: CompareDeps): ComparePanel {
  const compare = new ComparePanel(context, deps);
  const image = (arg: unknown) => (arg instanceof vscode.Uri ? arg : undefined);
  context.subscriptions.push(
    compare,
    vscode.commands.registerCommand('xaiLens.compareModels', async (arg?: unknown) => {
      const img = image(arg) ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: ['png', 'jpg', 'jpeg'] }, openLabel: 'Compare' }))?.[0];
      if (!img) return undefined;
      const other = await deps.pickModel();
      if (!other || !(await deps.ensureTrusted(other))) return undefined;
      return compare.compare([{ image: img, modelDir: deps.activeModel() }, { image: img, modelDir: other }]);
    }),
    vscode.commands.registerCommand('xaiLens.compareImages', async (arg?: unknown, all?: unknown) => {
      const picked = Array.isArray(all) ? all.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
      const images = picked.length >= 2 ? picked.slice(0, 2) : (await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: ['png', 'jpg', 'jpeg'] }, openLabel: 'Compare' })) ?? [];
      if (images.length < 2) {
        if (arg !== undefined) void vscode.window.showInformationMessage('XAI Lens: select two images to compare.');
        return undefined;
      }
      return compare.compare(images.slice(0, 2).map((i) => ({ image: i, modelDir: deps.activeModel() })));
    }),
  );
  return compare;
}
