/**
 * The folder gallery: *Explain Folder with XAI Lens* on a folder in the explorer opens one gallery panel (reused)
 * that fills with a thumbnail per image (prediction, confidence, Grad-CAM) as the engine finishes each, with
 * progress and cancel, CSV/JSON export into `<workspace>/xai-lens/`, and a click that opens the image in the explain
 * panel. The items live here, so a gallery hidden and shown again gets them all back.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { type FromGallery, type GalleryItem, galleryCsv, galleryRecords, type ToGallery } from '../shared/gallery';
import { PANELS } from '../shared/panels';
import { type EngineClient, EngineError } from './engineClient';
import { PanelChannel } from './webviewPanel';

export interface GalleryDeps {
  engine: EngineClient;
  /** The model the gallery uses (the active model). */
  modelDir: () => string;
  modelLabel: (dir: string) => string;
  /** Opens an image in the explain panel. */
  openImage: (image: vscode.Uri, modelDir: string) => void;
}

interface Run {
  folder: vscode.Uri;
  modelDir: string;
  items: GalleryItem[];
  done: number;
  total: number;
  finished?: Extract<ToGallery, { type: 'done' }>;
  source: vscode.CancellationTokenSource;
  /** Settles when the run ends (finished, cancelled or failed). */
  ended: Promise<void>;
}

export class GalleryPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private channel?: PanelChannel<ToGallery, FromGallery>;
  private run?: Run;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly deps: GalleryDeps,
  ) {}

  /** The current run (tests read its items and wait for `ended`). */
  get current(): Readonly<Run> | undefined {
    return this.run;
  }

  cancel(): void {
    this.run?.source.cancel();
  }

  /** Opens (or reuses) the gallery and explains every image under `folder`, replacing a previous run. */
  show(folder: vscode.Uri): Readonly<Run> {
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel(PANELS.gallery.viewType, PANELS.gallery.title, { viewColumn: vscode.ViewColumn.Active }, { enableScripts: true });
      panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
      this.channel = new PanelChannel(this.context, panel.webview, PANELS.gallery, (m) => void this.onMessage(m));
      panel.onDidDispose(() => {
        this.run?.source.cancel();
        this.channel?.dispose();
        this.panel = undefined;
        this.channel = undefined;
      });
      this.panel = panel;
    } else {
      this.panel.reveal(undefined, false);
    }
    this.panel.title = `Gallery · ${basename(folder.fsPath)}`;
    return this.start(folder);
  }

  private post(m: ToGallery): void {
    this.channel?.post(m);
  }

  private start(folder: vscode.Uri): Run {
    this.run?.source.cancel();
    const modelDir = this.deps.modelDir();
    const source = new vscode.CancellationTokenSource();
    const run: Run = { folder, modelDir, items: [], done: 0, total: 0, source, ended: Promise.resolve() };
    this.run = run;
    const current = () => this.run === run;
    this.post({ type: 'start', folder: vscode.workspace.asRelativePath(folder, false), model: this.deps.modelLabel(modelDir) });
    // Items are posted in small batches: hundreds of messages a second would keep the webview busy re-rendering.
    let pending: GalleryItem[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (pending.length && current()) this.post({ type: 'items', items: pending });
      pending = [];
    };
    const t0 = Date.now();
    run.ended = (async () => {
      let cancelled = false;
      try {
        await this.deps.engine.request('engine/explainFolder', { modelDir, dir: folder.fsPath }, {
          token: source.token,
          onItem: (item) => {
            run.items.push(item);
            pending.push(item);
            flushTimer ??= setTimeout(flush, 50);
          },
          onProgress: (p) => {
            run.done = p.done;
            run.total = p.total;
            if (current()) this.post({ type: 'progress', done: p.done, total: p.total });
          },
        });
      } catch (e) {
        if (e instanceof EngineError && e.cancelled) cancelled = true;
        else if (current()) this.post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      } finally {
        clearTimeout(flushTimer);
        flush();
        source.dispose();
      }
      const failed = run.items.filter((i) => 'error' in i).length;
      run.finished = { type: 'done', cancelled, explained: run.items.length - failed, failed, ms: Date.now() - t0 };
      if (current()) this.post(run.finished);
    })();
    return run;
  }

  private async onMessage(m: FromGallery): Promise<void> {
    const run = this.run;
    switch (m.type) {
      case 'ready':
        // The first load, or a re-created webview (it was hidden): everything so far.
        if (!run) return;
        this.post({ type: 'start', folder: vscode.workspace.asRelativePath(run.folder, false), model: this.deps.modelLabel(run.modelDir) });
        if (run.items.length) this.post({ type: 'items', items: run.items });
        this.post({ type: 'progress', done: run.done, total: run.total });
        if (run.finished) this.post(run.finished);
        break;
      case 'cancel':
        this.cancel();
        break;
      case 'rerun':
        if (run) this.start(run.folder);
        break;
      case 'open':
        if (run) this.deps.openImage(vscode.Uri.file(m.file), run.modelDir);
        break;
      case 'export':
        if (run) await this.export(run, m.format);
        break;
    }
  }

  /** Writes the gallery as CSV or JSON into `<workspace folder>/xai-lens/` through a temporary name and a rename. */
  async export(run: Run, format: 'csv' | 'json'): Promise<vscode.Uri | undefined> {
    const root = vscode.workspace.getWorkspaceFolder(run.folder)?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri ?? run.folder;
    const dir = vscode.Uri.joinPath(root, 'xai-lens');
    const name = `gallery-${basename(run.folder.fsPath).replace(/[^\w.-]+/g, '_') || 'folder'}.${format}`;
    const target = vscode.Uri.joinPath(dir, name);
    const tmp = vscode.Uri.joinPath(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    const text = format === 'csv' ? galleryCsv(run.items) : `${JSON.stringify(galleryRecords(run.items), null, 2)}\n`;
    try {
      await vscode.workspace.fs.createDirectory(dir);
      await vscode.workspace.fs.writeFile(tmp, Buffer.from(text, 'utf8'));
      await vscode.workspace.fs.rename(tmp, target, { overwrite: true });
      this.post({ type: 'exported', path: vscode.workspace.asRelativePath(target) });
      return target;
    } catch (e) {
      this.post({ type: 'error', message: `cannot save ${target.fsPath}: ${(e as Error).message}` });
      return undefined;
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

/** Registers *Explain Folder with XAI Lens* and returns the gallery. */
export function registerGallery(context: vscode.ExtensionContext, deps: GalleryDeps): GalleryPanel {
  const gallery = new GalleryPanel(context, deps);
  context.subscriptions.push(
    gallery,
    vscode.commands.registerCommand('xaiLens.explainFolder', async (arg?: unknown) => {
      let folder = arg instanceof vscode.Uri ? arg : undefined;
      if (!folder) {
        const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Explain Folder' });
        folder = picked?.[0];
      }
      return folder ? gallery.show(folder) : undefined;
    }),
  );
  return gallery;
}
