/**
 * The mistakes gallery (*XAI Lens: Show Mistakes*): evaluates a model on a dataset folder (one subfolder per class,
 * or its `test/` part when it has one), lists the misclassified images with true and predicted labels and confidence,
 * each with its Grad-CAM thumbnail; a click asks for the contrastive counterfactual toward the true label ("what
 * minimal change would flip the wrong prediction?"), and any image opens in the full explain panel.
 *
 * Predictions come from the engine CLI (`predict --json`, batched, in chunks so progress and cancel work); Grad-CAM
 * and counterfactuals from the engine process (`engine/explain`), one image at a time, most confident mistakes first.
 */
import * as vscode from 'vscode';
import { fork } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { FromMistakes, GalleryInfo, Mistake, ToMistakes } from '../../shared/mistakesProtocol';
import type { CounterfactualPayload } from '../../shared/protocol';
import { PANELS } from '../../shared/panels';
import { LineSplitter } from '../../shared/trainingEvents';
import { type EngineClient, EngineError } from '../engineClient';
import { engineChildEnv, type EngineCli } from '../engineChild';
import { PanelChannel } from '../webviewPanel';

const IMAGE = /\.(png|jpe?g)$/i;
const CHUNK = 400;
/** Grad-CAM thumbnails computed per gallery (the most confident mistakes); the rest are listed without one. */
export const THUMBNAIL_LIMIT = 48;

export interface LabelledImage {
  path: string;
  label: number;
}

/**
 * The images of a class-per-subfolder dataset, labelled by the model's class names. A folder with `test/` uses it
 * (held-out images). Throws one line naming the folder when a subfolder is not one of the model's classes.
 */
export async function listLabelledImages(dataDir: string, classNames: readonly string[]): Promise<{ root: string; images: LabelledImage[] }> {
  const root = existsSync(join(dataDir, 'test')) ? join(dataDir, 'test') : dataDir;
  const entries = await fs.readdir(root, { withFileTypes: true }).catch((e: Error) => {
    throw new Error(`${dataDir}: cannot read the dataset folder (${e.message})`);
  });
  const images: LabelledImage[] = [];
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'train').map((e) => e.name).sort();
  if (!folders.length) throw new Error(`${root}: no class subfolders (expected one folder of images per class)`);
  for (const name of folders) {
    const label = classNames.indexOf(name);
    if (label < 0) throw new Error(`${join(root, name)}: "${name}" is not one of the model's classes (${classNames.join(', ')})`);
    const files = (await fs.readdir(join(root, name))).filter((f) => IMAGE.test(f)).sort();
    for (const f of files) images.push({ path: join(root, name, f), label });
  }
  if (!images.length) throw new Error(`${root}: no PNG or JPEG images in its class folders`);
  return { root, images };
}

interface Prediction {
  file: string;
  label: number;
  probabilities: number[];
}

/** Runs `xai-lens predict --json` on one chunk of files. */
function predictChunk(cli: EngineCli, modelDir: string, files: string[], token: vscode.CancellationToken): Promise<Prediction[]> {
  return new Promise((resolve, reject) => {
    const child = fork(cli.script, ['predict', '--model', modelDir, '--json', ...files], { silent: true, env: engineChildEnv(cli.nativeModules), execArgv: [] });
    const out: Prediction[] = [];
    const errors: string[] = [];
    const lines = new LineSplitter();
    const take = (ls: string[]) => {
      for (const l of ls) if (l.startsWith('{')) out.push(JSON.parse(l) as Prediction);
    };
    child.stdout!.setEncoding('utf8').on('data', (c: string) => take(lines.push(c)));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => errors.push(...c.split('\n').filter((l) => l.trim())));
    const cancel = token.onCancellationRequested(() => child.kill());
    child.on('error', reject);
    child.on('close', (code) => {
      cancel.dispose();
      take(lines.end());
      if (token.isCancellationRequested) reject(new vscode.CancellationError());
      // Exit 1 with some lines: some images were unreadable (reported on stderr); the others are still predicted.
      else if (code !== 0 && !out.length) reject(new Error(errors.at(-1) ?? `xai-lens predict exited with ${code}`));
      else resolve(out);
    });
  });
}

export interface GalleryResult {
  info: GalleryInfo;
  mistakes: Mistake[];
  /** Unreadable images, one line each. */
  skipped: number;
}

export class MistakesGallery implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private channel?: PanelChannel<ToMistakes, FromMistakes>;
  private result?: GalleryResult;
  private thumbnails = new Map<number, Extract<ToMistakes, { type: 'thumbnail' }>['thumbnail']>();
  private thumbnailsRunning?: vscode.CancellationTokenSource;
  /** What the page reported drawing last (tests read it through the extension's API). */
  drawn?: { shown: number; thumbnails: number };

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineClient,
    private readonly cli: EngineCli,
    private readonly explain: (image: vscode.Uri, modelDir: string) => Thenable<unknown>,
  ) {}

  get current(): GalleryResult | undefined {
    return this.result;
  }

  get webviewPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  /** Evaluates `modelDir` on `dataDir` with progress and cancel, then shows the gallery. */
  async show(modelDir: string, dataDir: string): Promise<GalleryResult | undefined> {
    let result: GalleryResult;
    try {
      const found = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `XAI Lens: looking for mistakes in ${basename(dataDir)}`, cancellable: true },
        (progress, token) => this.evaluate(modelDir, dataDir, progress, token),
      );
      if (!found) return undefined;
      result = found;
    } catch (e) {
      if (e instanceof vscode.CancellationError) return undefined;
      void vscode.window.showErrorMessage(`XAI Lens: ${(e as Error).message}`);
      return undefined;
    }
    this.result = result;
    this.thumbnails.clear();
    this.drawn = undefined;
    this.open();
    this.channel?.post({ type: 'gallery', info: result.info, mistakes: result.mistakes });
    void this.computeThumbnails(result);
    return result;
  }

  private async evaluate(
    modelDir: string,
    dataDir: string,
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    token: vscode.CancellationToken,
  ): Promise<GalleryResult | undefined> {
    const model = await this.engine.request('engine/loadModel', { dir: modelDir });
    const { root, images } = await listLabelledImages(dataDir, model.classNames);
    const predictions = new Map<string, Prediction>();
    for (let i = 0; i < images.length; i += CHUNK) {
      if (token.isCancellationRequested) return undefined;
      progress.report({ message: `${i} of ${images.length} images`, increment: (CHUNK / images.length) * 100 });
      for (const p of await predictChunk(this.cli, modelDir, images.slice(i, i + CHUNK).map((x) => x.path), token)) predictions.set(p.file, p);
    }
    const mistakes: Mistake[] = [];
    let correct = 0;
    for (const img of images) {
      const p = predictions.get(img.path);
      if (!p) continue;
      if (p.label === img.label) correct++;
      else mistakes.push({ id: mistakes.length, path: img.path, name: relative(root, img.path), trueLabel: img.label, predicted: p.label, confidence: p.probabilities[p.label], trueProbability: p.probabilities[img.label] });
    }
    mistakes.sort((a, b) => b.confidence - a.confidence);
    return {
      info: { modelDir, modelName: model.name, dataDir: root, classNames: model.classNames, evaluated: predictions.size, correct },
      mistakes,
      skipped: images.length - predictions.size,
    };
  }

  private open(): void {
    const title = this.result ? `Mistakes · ${this.result.info.modelName} on ${basename(this.result.info.dataDir)}` : PANELS.mistakes.title;
    if (this.panel) {
      this.panel.title = title;
      this.panel.reveal();
      return;
    }
    const desc = PANELS.mistakes;
    const panel = vscode.window.createWebviewPanel(desc.viewType, title, vscode.ViewColumn.Active, { enableScripts: true });
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    this.panel = panel;
    this.channel = new PanelChannel<ToMistakes, FromMistakes>(this.context, panel.webview, desc, (m) => void this.onMessage(m), 'Mistakes');
    panel.onDidDispose(() => {
      this.thumbnailsRunning?.cancel();
      this.channel?.dispose();
      this.channel = undefined;
      this.panel = undefined;
    });
  }

  private async onMessage(m: FromMistakes): Promise<void> {
    const result = this.result;
    switch (m.type) {
      case 'ready':
        if (!result) return;
        this.channel?.post({ type: 'gallery', info: result.info, mistakes: result.mistakes });
        for (const t of this.thumbnails.values()) this.channel?.post({ type: 'thumbnail', thumbnail: t });
        break;
      case 'counterfactual': {
        const r = await this.counterfactual(m.id);
        if (r) this.channel?.post({ type: 'counterfactual', id: m.id, ...r });
        break;
      }
      case 'explain': {
        const mistake = result?.mistakes.find((x) => x.id === m.id);
        if (result && mistake) await this.explain(vscode.Uri.file(mistake.path), result.info.modelDir);
        break;
      }
      case 'drawn':
        this.drawn = { shown: m.shown, thumbnails: m.thumbnails };
        break;
    }
  }

  /** The contrastive counterfactual of mistake `id`: the smallest change that makes the model say the true class. */
  async counterfactual(id: number): Promise<{ counterfactual?: CounterfactualPayload; error?: string } | undefined> {
    const result = this.result;
    const mistake = result?.mistakes.find((x) => x.id === id);
    if (!result || !mistake) return undefined;
    try {
      const r = await this.engine.request('engine/explain', {
        modelDir: result.info.modelDir, imagePath: mistake.path, methods: ['gradcam'], target: mistake.predicted,
        counterfactual: 'gradient', counterfactualTarget: mistake.trueLabel,
      });
      return { counterfactual: r.counterfactual };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  /** Grad-CAM toward the predicted class for the most confident mistakes, one at a time. */
  private async computeThumbnails(result: GalleryResult): Promise<void> {
    this.thumbnailsRunning?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.thumbnailsRunning = source;
    for (const mistake of result.mistakes.slice(0, THUMBNAIL_LIMIT)) {
      if (source.token.isCancellationRequested || this.result !== result) return;
      try {
        const r = await this.engine.request(
          'engine/explain',
          { modelDir: result.info.modelDir, imagePath: mistake.path, methods: ['gradcam'], target: mistake.predicted, counterfactual: 'none' },
          { token: source.token },
        );
        const heat = r.methods.find((x) => x.method === 'gradcam');
        if (!heat) continue;
        const thumbnail = { id: mistake.id, input: r.input, heatmap: heat.data };
        this.thumbnails.set(mistake.id, thumbnail);
        this.channel?.post({ type: 'thumbnail', thumbnail });
      } catch (e) {
        if (e instanceof EngineError && e.cancelled) return;
        this.channel?.post({ type: 'progress', message: `${mistake.name}: ${(e as Error).message}` });
      }
    }
  }

  dispose(): void {
    this.thumbnailsRunning?.cancel();
    this.panel?.dispose();
  }
}
