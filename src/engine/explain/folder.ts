/**
 * The folder gallery's engine side: every PNG/JPEG under a folder gets its prediction and a Grad-CAM map for the
 * predicted class, yielded as each image finishes so a UI or the CLI can show it at once. An unreadable image yields
 * an error item (one line naming it) and the rest go on. Used by the engine process (`engine/explainFolder`) and the
 * CLI (`xai-lens explain-folder`).
 */
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describeError, XaiLensError } from '../errors';
import { readImageFile } from '../image/decode';
import { resizeArea, type RasterImage } from '../image/imageMath';
import type { ModelDetails } from '../../shared/modelFormats';
import { prepareForModel } from '../preprocess';
import { predictOne } from './explain';
import type { ModelViewImpl } from './modelView';
import { getExplainer } from './registry';
import type { GalleryItem } from '../../shared/gallery';

const IMAGE = /\.(png|jpe?g)$/i;
const SKIP_DIR = /^(\..*|node_modules)$/;

/** Image files under `dir`, recursively, sorted by path; at most `limit`. */
export async function listImages(dir: string, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if (d === dir) throw new XaiLensError(`${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a folder' : describeError(e)}`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = join(d, e.name);
      if (e.isDirectory() && !SKIP_DIR.test(e.name)) await walk(p);
      else if (e.isFile() && IMAGE.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** Shrinks to at most `side` pixels on the longer side (area averaging); smaller images are returned as they are. */
function shrink(img: RasterImage, side: number): RasterImage {
  const f = Math.min(1, side / Math.max(img.width, img.height));
  if (f >= 1) return img;
  return resizeArea(img, Math.max(1, Math.round(img.height * f)), Math.max(1, Math.round(img.width * f)));
}

export interface FolderOptions {
  /** Folder the items' `relative` paths are given against. */
  root: string;
  /** How the model reads images (preprocessing, alpha background), from the imported model. */
  details?: ModelDetails;
  classNames: readonly string[];
  layer?: string;
  /** Longest side of thumbnails and maps (default 64). */
  thumbnail?: number;
  signal?: AbortSignal;
  /** Awaited before each image: the engine process lets newer requests go first here. */
  beforeStep?: () => Promise<void>;
}

export async function* explainFolder(view: ModelViewImpl, files: readonly string[], opts: FolderOptions): AsyncGenerator<GalleryItem> {
  const gradcam = getExplainer('gradcam');
  const side = opts.thumbnail ?? 64;
  const layer = opts.layer ?? view.defaultLayer;
  view.layerShape(layer); // a bad layer name fails once, up front
  for (const file of files) {
    await new Promise((r) => setImmediate(r));
    await opts.beforeStep?.();
    if (opts.signal?.aborted) throw new XaiLensError('cancelled');
    const rel = relative(opts.root, file).split(sep).join('/');
    const t0 = performance.now();
    let prepared;
    try {
      prepared = prepareForModel(await readImageFile(file), view.inputShape, opts.details, opts.details?.alphaBackground);
    } catch (e) {
      yield { file, relative: rel, error: describeError(e) };
      continue;
    }
    const image = prepared.image;
    const probabilities = predictOne(view, image.data, view.inputShape);
    const ranked = probabilities.map((p, i) => ({ label: i, probability: p })).sort((a, b) => b.probability - a.probability);
    const label = ranked[0].label;
    const a = await gradcam.explain(view, { image: image.data, shape: view.inputShape, target: label, layer, signal: opts.signal });
    const thumb = shrink(image, side);
    const map = shrink({ width: a.width, height: a.height, channels: 1, data: a.heatmap }, side);
    yield {
      file,
      relative: rel,
      label,
      className: opts.classNames[label] ?? String(label),
      confidence: ranked[0].probability,
      top: ranked.slice(0, 3),
      thumbnail: { width: thumb.width, height: thumb.height, channels: thumb.channels, data: Array.from(thumb.data, (v) => Math.round(v * 255) / 255) },
      gradcam: { width: map.width, height: map.height, data: Array.from(map.data, (v) => Math.round(v * 1000) / 1000) },
      ms: performance.now() - t0,
    };
  }
}
