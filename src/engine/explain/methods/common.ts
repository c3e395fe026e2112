/** Small pieces every attribution method uses. */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../../errors';
import { resolveOptions } from '../../options';
import type { Explainer, ExplainRequest, ModelView, ResolvedOptions } from '../types';

/** Score of one class per row, by a one-hot product (no gather: wasm lacks the gather gradient). */
export function classScore(scores: tf.Tensor2D, target: number): tf.Tensor1D {
  const k = scores.shape[1];
  return tf.sum(tf.mul(scores, tf.oneHot(tf.fill([scores.shape[0]], target, 'int32') as tf.Tensor1D, k)), 1) as tf.Tensor1D;
}

/** ∂y_target/∂x for a batch of images, each image's gradient independent of the others (inference mode). */
export function batchGradients(view: Pick<ModelView, 'scores'>, xs: tf.Tensor4D, target: number): tf.Tensor4D {
  return tf.grad((x: tf.Tensor) => tf.sum(classScore(view.scores(x as tf.Tensor4D), target)))(xs) as tf.Tensor4D;
}

/** Σ over the batch of ∂y_target/∂x, [1, h, w, c]: what SmoothGrad and IG accumulate, on either engine thread. */
export function gradientSum(view: Pick<ModelView, 'scores'>, xs: tf.Tensor4D, target: number): tf.Tensor4D {
  return tf.tidy(() => tf.sum(batchGradients(view, xs, target), 0, true));
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

/** The request's options checked against the explainer's schema, with its defaults for the absent ones. */
export function optionsOf(explainer: Pick<Explainer, 'id' | 'options'>, req: ExplainRequest): ResolvedOptions {
  return resolveOptions(explainer.options, req.options, explainer.id);
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new XaiLensError('cancelled');
}

