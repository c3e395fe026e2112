/** Probabilities of images held in flat arrays, through a view's native path where it has one. */
import * as tf from '@tensorflow/tfjs';
import type { FlatProbFn, ImageShape, ProbFn } from './types';

/** A model as counterfactual searches and black-box methods take it: a tensor function or a view. */
export type ProbabilitySource = ProbFn | { probabilities: ProbFn; flatProbabilities?: FlatProbFn };

/** `probs` on flat data: one tensor per `batch` images, read back once. */
export function flatFromTensors(probs: ProbFn, shape: ImageShape, batch: number): FlatProbFn {
  const size = shape[0] * shape[1] * shape[2];
  return (data, n) => {
    let out = new Float32Array(0);
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      const t = tf.tidy(() => probs(tf.tensor4d(data.subarray(s * size, (s + m) * size), [m, ...shape])));
      const classes = t.shape[1];
      if (out.length === 0) out = new Float32Array(n * classes);
      out.set(t.dataSync(), s * classes);
      t.dispose();
    }
    return out;
  };
}

/** The source's flat function: its own where it has one, else its tensor function in batches of `batch`. */
export function flatProbabilitiesOf(source: ProbabilitySource, shape: ImageShape, batch = 256): FlatProbFn {
  if (typeof source === 'function') return flatFromTensors(source, shape, batch);
  return source.flatProbabilities ?? flatFromTensors(source.probabilities, shape, batch);
}
