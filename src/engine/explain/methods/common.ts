/** Small pieces every attribution method uses. */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../../errors';
import type { ExplainRequest, ModelView } from '../types';
import { costOf, fitBatch, type BatchChoice } from '../budget';

/** Score of one class per row, by a one-hot product (no gather: wasm lacks the gather gradient). */
export function classScore(scores: tf.Tensor2D, target: number): tf.Tensor1D {
  const k = scores.shape[1];
  return tf.sum(tf.mul(scores, tf.oneHot(tf.fill([scores.shape[0]], target, 'int32') as tf.Tensor1D, k)), 1) as tf.Tensor1D;
}

export function imageTensor(req: ExplainRequest): tf.Tensor4D {
  const [h, w, c] = req.shape;
  return tf.tensor4d(req.image, [1, h, w, c]);
}

/** Sums an [h, w, c] attribution over channels into an [h, w] map (signed). */
export function channelSum(attr: tf.Tensor): tf.Tensor2D {
  const [h, w] = attr.shape.slice(-3);
  return tf.reshape(tf.sum(attr, -1), [h, w]) as tf.Tensor2D;
}

export function numberOption(req: ExplainRequest, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = req.options?.[name];
  if (raw === undefined) return fallback;
  const v = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new XaiLensError(`option "${name}" must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return v;
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new XaiLensError('cancelled');
}

/** Runs `f` on consecutive chunks of `n` items and concatenates the results along axis 0. */
export function inChunks(n: number, chunk: number, f: (start: number, size: number) => tf.Tensor): tf.Tensor {
  const parts: tf.Tensor[] = [];
  for (let s = 0; s < n; s += chunk) parts.push(f(s, Math.min(chunk, n - s)));
  if (parts.length === 1) return parts[0];
  const out = tf.concat(parts, 0);
  parts.forEach((p) => p.dispose());
  return out;
}

/** The `batch` option (default 64) cut to what fits the memory budget for forward + backward passes. */
export function gradientBatch(view: ModelView, req: ExplainRequest, what: string): BatchChoice {
  return fitBatch(costOf(view), Math.round(numberOption(req, 'batch', 64, 1, 1024)), what);
}
