/**
 * Faithfulness of a heatmap by the deletion and insertion games of RISE (Petsiuk, Das & Saenko, "RISE: Randomized
 * Input Sampling for Explanation of Black-box Models", BMVC 2018): remove the pixels a heatmap ranks most relevant
 * first and watch the target probability fall (deletion: a low area under the curve is good), or start from a blank
 * image and put them back (insertion: a high area is good). Random orders give the chance level to compare with.
 *
 * Every image of every curve is built on the fly, one model batch at a time, so memory stays at one batch however
 * large the images or the number of curves.
 */
import * as tf from '@tensorflow/tfjs';
import { rankOrder, trapezoidAuc } from './stats';
import { XaiLensError } from '../errors';
import { gaussianKernel } from '../data/augment';
import { permutation } from '../data/random';
import type { ImageShape, ProbFn } from './types';

export type DeletionBaseline = 'zero' | 'blur' | 'mean';

export interface DeletionOptions {
  /** Points on each curve after the first: pixels are removed (or inserted) in `steps` equal groups. Default 28. */
  steps?: number;
  /** What a removed pixel becomes. 'zero' (default) is black, the MNIST background; 'blur' a Gaussian blur of the
   * image (RISE's insertion start); 'mean' the image's per-channel mean. */
  baseline?: DeletionBaseline;
  /** Standard deviation of the 'blur' baseline in pixels; default max(h, w) / 16. */
  blurSigma?: number;
  /** Images per model call; default 64. */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface DeletionCurves {
  /** steps + 1 target probabilities: 0 pixels removed, then each group more; the last is the baseline image. */
  deletion: Float32Array;
  /** steps + 1 target probabilities: the baseline image, then each group of pixels put back; the last is x. */
  insertion: Float32Array;
  /** The x axis of both curves: the fraction of pixels moved at each point (0 … 1). */
  fractions: Float32Array;
  deletionAuc: number;
  insertionAuc: number;
}

export interface FaithfulnessOptions extends DeletionOptions {
  /** Random orders averaged for the chance level; default 5. */
  randomTrials?: number;
  seed?: number;
}

export interface Faithfulness {
  deletionAuc: number;
  insertionAuc: number;
  /** Mean over `randomTrials` random pixel orders. */
  randomDeletionAuc: number;
  randomInsertionAuc: number;
}

/** The pixel indices 0..n-1 in a seeded random order: the chance-level ranking. */
export function randomOrder(n: number, seed: number): Int32Array {
  return permutation(n, seed);
}

/** Deletion and insertion curves of one pixel order (most relevant first) for class `target`. */
export function deletionInsertion(
  probs: ProbFn,
  x: Float32Array,
  shape: ImageShape,
  order: Int32Array,
  target: number,
  opts: DeletionOptions = {},
): DeletionCurves {
  return curves(probs, x, shape, [order], target, opts)[0];
}

/**
 * Deletion/insertion AUCs of a heatmap (h × w) against the mean of `randomTrials` random orders, all curves
 * evaluated together in shared model batches.
 */
export function faithfulness(
  probs: ProbFn,
  x: Float32Array,
  shape: ImageShape,
  heatmap: Float32Array,
  target: number,
  opts: FaithfulnessOptions = {},
): Faithfulness {
  const n = shape[0] * shape[1];
  if (heatmap.length !== n) throw new XaiLensError(`heatmap has ${heatmap.length} values, expected ${n} (h × w)`);
  const trials = Math.max(0, Math.floor(opts.randomTrials ?? 5));
  const seed = opts.seed ?? 0;
  const orders = [rankOrder(heatmap)];
  for (let t = 0; t < trials; t++) orders.push(randomOrder(n, seed + 7919 * t));
  const all = curves(probs, x, shape, orders, target, opts);
  let rd = 0;
  let ri = 0;
  for (let t = 1; t < all.length; t++) {
    rd += all[t].deletionAuc;
    ri += all[t].insertionAuc;
  }
  return {
    deletionAuc: all[0].deletionAuc,
    insertionAuc: all[0].insertionAuc,
    randomDeletionAuc: trials > 0 ? rd / trials : NaN,
    randomInsertionAuc: trials > 0 ? ri / trials : NaN,
  };
}

function checkOrder(order: Int32Array, n: number): void {
  if (order.length !== n) throw new XaiLensError(`pixel order has ${order.length} entries, expected ${n} (h × w)`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = order[i];
    if (p < 0 || p >= n || seen[p]) throw new XaiLensError(`pixel order is not a permutation of 0..${n - 1}`);
    seen[p] = 1;
  }
}

/** The image every removed pixel takes its value from. */
export function baselineImage(x: Float32Array, shape: ImageShape, kind: DeletionBaseline, blurSigma?: number): Float32Array {
  const [h, w, c] = shape;
  const out = new Float32Array(x.length);
  if (kind === 'zero') return out;
  if (kind === 'mean') {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let p = 0; p < h * w; p++) s += x[p * c + k];
      const m = s / (h * w);
      for (let p = 0; p < h * w; p++) out[p * c + k] = m;
    }
    return out;
  }
  if (kind !== 'blur') throw new XaiLensError(`unknown baseline "${String(kind)}"; expected zero, blur or mean`);
  // Separable Gaussian with clamped edges, per channel of the interleaved h × w × c layout.
  const kernel = gaussianKernel(blurSigma ?? Math.max(h, w) / 16);
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float32Array(x.length);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kernel[i + r] * x[(y * w + Math.min(w - 1, Math.max(0, xx + i))) * c + k];
        tmp[(y * w + xx) * c + k] = s;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += kernel[i + r] * tmp[(Math.min(h - 1, Math.max(0, y + i)) * w + xx) * c + k];
        out[(y * w + xx) * c + k] = s;
      }
    }
  }
  return out;
}

function curves(
  probs: ProbFn,
  x: Float32Array,
  shape: ImageShape,
  orders: Int32Array[],
  target: number,
  opts: DeletionOptions,
): DeletionCurves[] {
  const [h, w, c] = shape;
  const n = h * w;
  const size = n * c;
  if (x.length !== size) throw new XaiLensError(`image has ${x.length} values, expected ${size} (${h}×${w}×${c})`);
  const steps = Math.floor(opts.steps ?? 28);
  if (!(steps >= 1)) throw new XaiLensError(`steps must be at least 1, got ${opts.steps}`);
  if (!Number.isInteger(target) || target < 0) throw new XaiLensError(`invalid target class ${target}`);
  for (const o of orders) checkOrder(o, n);
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 64));
  const base = baselineImage(x, shape, opts.baseline ?? 'zero', opts.blurSigma);

  // Pixels moved at each point; the fractions are exact, so the AUC of a constant curve is that constant.
  const counts = Int32Array.from({ length: steps + 1 }, (_, s) => Math.round((s * n) / steps));
  const fractions = Float64Array.from(counts, (k) => k / n);
  const perOrder = 2 * (steps + 1);
  const total = orders.length * perOrder;
  const values = new Float32Array(total);

  // Image j: order j / perOrder; the first steps+1 are deletion images, the rest insertion images.
  const fill = (j: number, dst: Float32Array, at: number) => {
    const order = orders[Math.floor(j / perOrder)];
    const r = j % perOrder;
    const insertion = r > steps;
    const k = counts[insertion ? r - steps - 1 : r];
    const [from, onto] = insertion ? [x, base] : [base, x];
    dst.set(onto, at);
    for (let i = 0; i < k; i++) {
      const p = order[i] * c;
      for (let ch = 0; ch < c; ch++) dst[at + p + ch] = from[p + ch];
    }
  };

  for (let start = 0; start < total; start += batch) {
    if (opts.signal?.aborted) throw new XaiLensError('cancelled');
    const m = Math.min(batch, total - start);
    const buf = new Float32Array(m * size);
    for (let i = 0; i < m; i++) fill(start + i, buf, i * size);
    const col = tf.tidy(() => {
      const p = probs(tf.tensor4d(buf, [m, h, w, c]));
      if (target >= p.shape[1]) throw new XaiLensError(`target class ${target} out of range (model has ${p.shape[1]})`);
      return tf.reshape(tf.slice(p, [0, target], [m, 1]), [m]);
    });
    values.set(col.dataSync(), start);
    col.dispose();
  }

  return orders.map((_, o) => {
    const deletion = values.slice(o * perOrder, o * perOrder + steps + 1);
    const insertion = values.slice(o * perOrder + steps + 1, (o + 1) * perOrder);
    return {
      deletion,
      insertion,
      fractions: Float32Array.from(fractions),
      deletionAuc: trapezoidAuc(deletion, fractions),
      insertionAuc: trapezoidAuc(insertion, fractions),
    };
  });
}
