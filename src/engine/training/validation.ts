/**
 * Validation after each epoch: loss and accuracy, the confusion matrix, and the predictions for a fixed strip of
 * validation images, so a dashboard can show how the model's view of the same images changes from epoch to epoch.
 */
import { Buffer } from 'node:buffer';
import type { ImageDataset } from '../data/datasets';
import { argmax, evaluateProbabilities, type Evaluation } from '../inference';
import { renderPng } from '../image/render';
import { resizeAuto, type Channels, type RasterImage } from '../image/imageMath';

/** A validation image shown on the dashboard, sent once with the 'start' event. */
export interface ValidationSample {
  /** Index in the validation set. */
  index: number;
  label: number;
  /** The image as the model sees it, at most THUMBNAIL_SIDE px on its longer side, as a base64 PNG. */
  png: string;
}

/** A sample's prediction after an epoch. */
export interface SamplePrediction {
  index: number;
  predicted: number;
  confidence: number;
}

export const SAMPLE_COUNT = 16;
export const THUMBNAIL_SIDE = 64;

/** Up to SAMPLE_COUNT validation indices spread evenly over the set (the set is already shuffled by its split). */
export function sampleIndices(count: number, n = SAMPLE_COUNT): number[] {
  const k = Math.min(n, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * count) / k));
}

/** One dataset image as a small base64 PNG. */
export function thumbnailPng(ds: ImageDataset, index: number, side = THUMBNAIL_SIDE): string {
  const [h, w, c] = ds.shape;
  const per = h * w * c;
  let img: RasterImage = { height: h, width: w, channels: c as Channels, data: ds.images.subarray(index * per, (index + 1) * per) };
  const scale = side / Math.max(h, w);
  if (scale < 1) img = resizeAuto(img, Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale)));
  return Buffer.from(renderPng(img)).toString('base64');
}

export function validationSamples(ds: ImageDataset): ValidationSample[] {
  return sampleIndices(ds.count).map((index) => ({ index, label: ds.labels[index], png: thumbnailPng(ds, index) }));
}

export interface ValidationReport extends Evaluation {
  samples: SamplePrediction[];
}

/** Evaluation of softmax probabilities (count × classes) plus the sample strip's predictions. */
export function validationReport(probs: Float32Array, ds: ImageDataset): ValidationReport {
  const k = ds.numClasses;
  const evaluation = evaluateProbabilities(probs, ds.labels, k);
  const samples = sampleIndices(ds.count).map((index) => {
    const predicted = argmax(probs, index * k, k);
    return { index, predicted, confidence: probs[index * k + predicted] };
  });
  return { ...evaluation, samples };
}
