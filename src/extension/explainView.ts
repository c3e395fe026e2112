/**
 * One explanation view: a webview (the explain panel, or the custom editor's) showing one image explained by one
 * model. It answers the webview's typed messages, runs explanations on the engine with progress and cancel, keeps
 * finished results in a shared cache (going back to an image is instant), can be re-targeted to another image, pauses
 * while hidden, and saves rendered PNGs into the workspace.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname } from 'node:path';
import { openModelSettings } from './modelSettings';
import type { CounterfactualMethod, ExplainResultPayload, FromWebview, ToWebview } from '../shared/protocol';
import { PANELS } from '../shared/panels';
import { type EngineClient, EngineError } from './engineClient';
import { counterfactualChoices, methodOptions, methodsSetting, panelSettings } from './config';
import { PanelChannel } from './webviewPanel';
import { type ExplainRequest, ResultCache } from './resultCache';

export interface ExplainOpts {
  target?: number;
  layer?: string;
  counterfactual?: CounterfactualMethod;
}

export interface ExplainViewOptions {
  /** Shared between views, so the panel and the custom editor reuse each other's results. */
  cache?: ResultCache;
  /** The panel follows the active image (shows a lock); the custom editor does not. */
  follows?: boolean;
  /** The webview asked to lock or unlock the panel. */
  onLock?: (locked: boolean) => void;
  /** Told when results arrive and when the webview has painted one (the session's start-up timeline). */
  timeline?: { webviewReady(timing?: { scriptMs: number; mountedMs: number }): void; resultArrived(r: ExplainResultPayload): void; painted(): void };
}

export class ExplainView implements vscode.Disposable {
  private lastResult?: ExplainResultPayload;
  private running?: { source: vscode.CancellationTokenSource; opts: ExplainOpts };
  /** What was running when the view was hidden: run again when the webview is back. */
  private paused?: ExplainOpts;
  private readonly channel: PanelChannel<ToWebview, FromWebview>;
  private readonly cache: ResultCache;
  private locked = false;
  private readonly saveListener: vscode.Disposable;
  /**
   * A new panel's explanation starts at once, while the webview is still loading (a second or more on a cold
   * start); the channel posts nothing until the webview is ready, which then gets the latest state.
   */
  private lastPartial?: ExplainResultPayload;
  private lastError?: string;

  constructor(
    private readonly context: vscode.ExtensionContext,
    webview: vscode.Webview,
    private readonly engine: EngineClient,
    private imageUri: vscode.Uri,
    private modelDir: string,
    private readonly options: ExplainViewOptions = {},
  ) {
    this.cache = options.cache ?? new ResultCache();
    this.saveListener = vscode.workspace.onDidSaveTextDocument((doc) => this.onSaved(doc));
    this.channel = new PanelChannel(context, webview, PANELS.explain, (m) => void this.onMessage(m), `Explain ${basename(imageUri.fsPath)}`);
  }

  get image(): vscode.Uri {
    return this.imageUri;
  }

  get model(): string {
    return this.modelDir;
  }

  private post(message: ToWebview): void {
    this.channel.post(message);
  }

  private imageName(): string {
    return vscode.workspace.asRelativePath(this.imageUri, false);
  }

  private sendInit(): void {
    this.post({
      type: 'init', imageName: this.imageName(), settings: panelSettings(), model: this.lastResult?.model,
      counterfactuals: counterfactualChoices(this.context.extension), follows: this.options.follows, locked: this.locked,
    });
  }

  setModel(dir: string): void {
    this.modelDir = dir;
  }

  setLocked(locked: boolean): void {
    this.locked = locked;
    this.post({ type: 'locked', locked });
  }

  /** Shows another image (and model): the running explanation is cancelled, a cached result shows at once. */
  retarget(image: vscode.Uri, modelDir = this.modelDir): Promise<ExplainResultPayload | undefined> {
    if (image.fsPath === this.imageUri.fsPath && modelDir === this.modelDir && (this.lastResult || this.running)) {
      return Promise.resolve(this.lastResult);
    }
    this.running?.source.cancel();
    this.running = undefined;
    this.paused = undefined;
    this.imageUri = image;
    this.modelDir = modelDir;
    this.lastResult = undefined;
    this.sendInit();
    return this.explain({});
  }

  /** The view was hidden: its remaining work is cancelled and resumed when it shows again. */
  pause(): void {
    if (!this.running) return;
    this.paused = this.running.opts;
    this.running.source.cancel();
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready': {
        this.options.timeline?.webviewReady(m.timing);
        this.sendInit();
        if (this.lastResult) this.post({ type: 'result', result: this.lastResult });
        else if (this.running && this.lastPartial) this.post({ type: 'partial', result: this.lastPartial });
        else if (!this.running && this.lastError) this.post({ type: 'error', message: this.lastError });
        const resume = this.paused ?? (this.lastResult || this.running || this.lastError ? undefined : {});
        this.paused = undefined;
        if (resume) await this.explain(resume);
        break;
      }
      case 'painted':
        this.options.timeline?.painted();
        break;
      case 'explain':
        await this.explain({ target: m.target, layer: m.layer, counterfactual: m.counterfactual });
        break;
      case 'cancel':
        this.running?.source.cancel();
        break;
      case 'lock':
        this.options.onLock?.(m.locked);
        break;
      case 'savePng':
        await this.savePng(m.name, m.dataUrl);
        break;
      case 'editModelSettings': {
        const problem = await openModelSettings(this.context, this.lastResult?.model);
        if (problem) this.post({ type: 'error', message: problem });
        break;
      }
    }
  }

  private request(opts: ExplainOpts): ExplainRequest {
    return {
      modelDir: this.modelDir,
      imagePath: this.imageUri.fsPath,
      methods: methodsSetting(),
      target: opts.target,
      layer: opts.layer,
      counterfactual: opts.counterfactual ?? panelSettings().counterfactual,
      methodOptions: methodOptions(this.context.extension),
    };
  }

  /** Runs an explanation (or takes it from the cache); a newer request cancels an older one still running. */
  async explain(opts: ExplainOpts): Promise<ExplainResultPayload | undefined> {
    this.running?.source.cancel();
    const params = this.request(opts);
    const cached = this.cache.get(params);
    if (cached) {
      this.running = undefined;
      this.lastResult = cached;
      this.post({ type: 'result', result: cached });
      return cached;
    }
    const source = new vscode.CancellationTokenSource();
    const run = { source, opts };
    this.running = run;
    this.lastPartial = undefined;
    this.lastError = undefined;
    const image = this.imageUri;
    const current = () => this.running === run && this.imageUri === image;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `XAI Lens: explaining ${basename(image.fsPath)}` },
        () =>
          this.engine.request('engine/explain', params, {
            token: source.token,
            onProgress: (p) => current() && this.post({ type: 'progress', done: p.done, total: p.total, message: p.message }),
            onPartial: (partial) => {
              this.options.timeline?.resultArrived(partial);
              if (!current()) return;
              this.lastPartial = partial;
              this.post({ type: 'partial', result: partial });
            },
          }),
      );
      this.cache.set(params, result);
      this.options.timeline?.resultArrived(result);
      if (!current()) return result;
      this.lastResult = result;
      this.post({ type: 'result', result });
      return result;
    } catch (e) {
      if (e instanceof EngineError && e.cancelled) {
        if (current()) this.post({ type: 'cancelled' });
        return undefined;
      }
      const message = e instanceof Error ? e.message : String(e);
      if (current()) {
        this.lastError = message;
        this.post({ type: 'error', message });
        void vscode.window.showErrorMessage(`XAI Lens: ${message}`);
      }
      return undefined;
    } finally {
      if (this.running === run) this.running = undefined;
      source.dispose();
    }
  }

  /**
   * Writes a PNG the webview rendered into `<workspace folder>/xai-lens/` (the image's folder outside a workspace),
   * through a temporary name and a rename, so a half-written file never appears.
   */
  private async savePng(name: string, dataUrl: string): Promise<void> {
    const match = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUrl);
    if (!match) {
      this.post({ type: 'error', message: 'the view could not be rendered as a PNG' });
      return;
    }
    const image = this.imageUri;
    const stem = basename(image.fsPath, extname(image.fsPath));
    const safe = basename(name).replace(/[^\w.-]+/g, '_').replace(/^\.+/, '') || `${stem}.png`;
    const folder = vscode.workspace.getWorkspaceFolder(image)?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const dir = folder ? vscode.Uri.joinPath(folder, 'xai-lens') : vscode.Uri.file(dirname(image.fsPath));
    const target = vscode.Uri.joinPath(dir, safe.endsWith('.png') ? safe : `${safe}.png`);
    const tmp = vscode.Uri.joinPath(dir, `.${basename(target.path)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await vscode.workspace.fs.createDirectory(dir);
      await vscode.workspace.fs.writeFile(tmp, Buffer.from(match[1], 'base64'));
      await vscode.workspace.fs.rename(tmp, target, { overwrite: true });
      this.post({ type: 'saved', path: vscode.workspace.asRelativePath(target) });
    } catch (e) {
      this.post({ type: 'error', message: `cannot save ${target.fsPath}: ${(e as Error).message}` });
    }
  }

  get result(): ExplainResultPayload | undefined {
    return this.lastResult;
  }

  /** A saved sidecar of the model on show: cached results of that model are stale. */
  private onSaved(doc: vscode.TextDocument): void {
    if (doc.uri.fsPath !== this.lastResult?.model.details?.sidecar?.path) return;
    this.cache.dropModel(this.modelDir);
    this.lastResult = undefined;
    this.sendInit();
    void this.explain({});
  }

  dispose(): void {
    this.running?.source.cancel();
    this.saveListener.dispose();
    this.channel.dispose();
  }
}
