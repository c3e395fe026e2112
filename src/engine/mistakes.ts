/**
 * The mistakes of a classifier on a dataset: every misclassified image with its true and predicted class and the
 * confidence of the wrong prediction, most confident first, each with a Grad-CAM thumbnail of what the model looked at
 * for its (wrong) prediction; optionally the contrastive counterfactual toward the true class for some of them ("what
 * minimal change would flip the prediction to the right class?"). Used by `xai-lens mistakes` and the engine process.
 */
import { Buffer } from 'node:buffer';
import type * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from './data/datasets';
import { argmax, predictProbabilities } from './inference';
import { createModelView } from './explain/modelView';
import { getExplainer } from './explain/registry';
import { explainImage } from './explain/explain';
import { heatmapToImage, overlay, renderPng, upscaleNearest, type Colormap } from './image/render';
import { resizeAuto, type Channels, type RasterImage } from './image/imageMath';
import { XaiLensError } from './errors';
import type { Mistake, MistakesReport } from '../shared/mistakes';

export type { Mistake, MistakeCounterfactual, MistakesReport } from '../shared/mistakes';

export interface MistakesOptions {
  /** Most mistakes listed (the most confident ones). Default 50. */
  limit?: number;
  /** Thumbnail side in px. Default 64. */
  thumbnail?: number;
  colormap?: Colormap;
  /** Counterfactual toward the true class for the first `counterfactuals` mistakes listed. Default none. */
  /** A counterfactual method id (explain/counterfactuals/registry.ts). */
  counterfactual?: string;
  counterfactuals?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Called with each mistake as it is finished (in list order), so a UI can show them as they come. */
  onMistake?: (m: Mistake, done: number, total: number) => void;
}

function imageOf(ds: ImageDataset, i: number): RasterImage {
  const [h, w, c] = ds.shape;
  const per = h * w * c;
  return { height: h, width: w, channels: c as Channels, data: ds.images.slice(i * per, (i + 1) * per) };
}

function thumbnail(img: RasterImage, side: number): RasterImage {
  const longer = Math.max(img.width, img.height);
  if (longer < side) return upscaleNearest(img, Math.max(1, Math.floor(side / longer)));
  if (longer > side) return resizeAuto(img, Math.max(1, Math.round((img.height * side) / longer)), Math.max(1, Math.round((img.width * side) / longer)));
  return img;
}

const base64 = (png: Uint8Array) => Buffer.from(png).toString('base64');

export async function findMistakes(model: tf.LayersModel, ds: ImageDataset, opts: MistakesOptions = {}): Promise<MistakesReport> {
  const limit = opts.limit ?? 50;
  const side = opts.thumbnail ?? 64;
  const numClasses = (model.outputs[0].shape as number[]).slice(-1)[0];
  if (ds.numClasses > numClasses) throw new XaiLensError(`the dataset has ${ds.numClasses} classes but the model predicts ${numClasses}`);
  const probs = predictProbabilities(model, ds, 256);
  const wrong: { index: number; predicted: number; confidence: number; trueProbability: number }[] = [];
  for (let i = 0; i < ds.count; i++) {
    const predicted = argmax(probs, i * numClasses, numClasses);
    if (predicted !== ds.labels[i]) wrong.push({ index: i, predicted, confidence: probs[i * numClasses + predicted], trueProbability: probs[i * numClasses + ds.labels[i]] });
  }
  // Most confident first; ties by index so the order is stable.
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  const listed = wrong.slice(0, limit);
  const view = createModelView(model);
  const gradcam = getExplainer('gradcam');
  const mistakes: Mistake[] = [];
  for (const [k, w] of listed.entries()) {
    await new Promise((r) => setImmediate(r)); // lets a cancel request arrive between images
    if (opts.signal?.aborted) throw new XaiLensError('cancelled');
    const img = imageOf(ds, w.index);
    const label = ds.labels[w.index];
    const withCf = opts.counterfactual && k < (opts.counterfactuals ?? 1);
    const result = await explainImage(view, img.data, {
      methods: [gradcam], target: w.predicted, metrics: false, seed: opts.seed, signal: opts.signal,
      counterfactual: withCf ? opts.counterfactual : 'none', counterfactualTarget: label,
    });
    const a = result.attributions[0];
    const heat = heatmapToImage(a.heatmap, a.width, a.height, opts.colormap ?? 'jet', a.signed);
    const m: Mistake = {
      index: w.index, ...(ds.files ? { file: ds.files[w.index] } : {}), label, predicted: w.predicted, confidence: w.confidence,
      trueProbability: w.trueProbability, gradcamPng: base64(renderPng(thumbnail(overlay(img, heat, 0.5), side))),
    };
    const cf = result.counterfactual;
    if (cf && withCf) {
      m.counterfactual = {
        method: opts.counterfactual!, found: cf.found, label: cf.label, probability: cf.probability, l0: cf.l0, l2: cf.l2,
        png: base64(renderPng({ ...img, data: cf.image })),
      };
    }
    mistakes.push(m);
    opts.onMistake?.(m, k + 1, listed.length);
  }
  return { count: ds.count, errors: wrong.length, accuracy: ds.count ? 1 - wrong.length / ds.count : NaN, classNames: ds.classNames, mistakes };
}
