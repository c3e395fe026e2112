/**
 * Input-gradient attributions, each one batched forward/backward pass:
 *   Vanilla gradients — Simonyan et al. 2014: ∂y/∂x.
 *   SmoothGrad — Smilkov et al. 2017: mean of ∂y/∂x over n copies of x with Gaussian noise (σ relative to the
 *     [0, 1] pixel range).
 *   Integrated Gradients — Sundararajan et al. 2017: (x − x′) ⊙ mean over α of ∂y/∂x at x′ + α(x − x′), midpoint
 *     rule; attributions sum to y(x) − y(x′) up to the quadrature error, reported as `completenessError`.
 * y is the target's logit (log-probability for models without logits). Maps are summed over colour channels and
 * signed: positive where raising the pixel raises the target's score.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../data/random';
import type { Attribution, Explainer, ExplainRequest, ModelView, ResolvedOptions } from '../types';
import type { Descriptor } from '../../../shared/descriptors';
import { batchGradients, channelSum, checkAborted, classScore, imageTensor, optionsOf } from './common';
import { sampledGradientSum } from './twoThreads';
import { costOf, fitBatch, gradientBatchBudget, scaledSamples } from '../budget';

/** What a method computes; the tensors it returns (the map) are the caller's, everything else it disposes. */
type GradientCompute = (view: ModelView, req: ExplainRequest, o: ResolvedOptions) => Promise<{ map: tf.Tensor2D; scores?: Record<string, unknown> }>;

function gradientExplainer(descriptor: Descriptor, compute: GradientCompute, secondThread = false): Explainer {
  const explainer: Explainer = {
    ...descriptor,
    capabilities: { usesGradients: true, blackBox: false, needsSpatialLayer: false, signed: true, ...(secondThread ? { secondThread } : {}) },
    async explain(view, req): Promise<Attribution> {
      checkAborted(req.signal);
      const t0 = performance.now();
      const o = optionsOf(explainer, req);
      const { map, scores } = await compute(view, req, o);
      const [h, w] = map.shape;
      const heatmap = map.dataSync() as Float32Array;
      map.dispose();
      return { method: descriptor.id, heatmap, height: h, width: w, signed: true, scores, ms: performance.now() - t0 };
    },
  };
  return explainer;
}

/** Backward passes cost about three forward passes: the sample budget is spent at that rate. Used when the
 * request leaves the count out; an explicit count is kept. */
const GRADIENT_COST = 3;

function gradientSamples(view: ModelView, base: number): number {
  const cost = costOf(view);
  return scaledSamples({ ...cost, macs: cost.macs * GRADIENT_COST }, base, 10);
}

const BATCH_OPTION = { type: 'integer', default: 64, min: 1, max: 1024, description: 'images per gradient pass' } as const;

export const vanillaGradients = gradientExplainer({
  id: 'gradients', label: 'Gradients', description: 'Vanilla gradients (Simonyan et al. 2014): ∂score/∂pixel', options: {},
}, async (view, req) => ({
  map: tf.tidy(() => channelSum(batchGradients(view, imageTensor(req), req.target))),
}));

export const smoothGrad = gradientExplainer({
  id: 'smoothgrad', label: 'SmoothGrad', description: 'SmoothGrad (Smilkov et al. 2017): gradients averaged over noisy copies',
  options: {
    samples: { type: 'integer', default: 50, min: 1, max: 10000, setting: true, description: 'noisy samples averaged' },
    sigma: { type: 'number', default: 0.15, min: 0, max: 10, description: 'noise standard deviation, relative to the [0, 1] pixel range' },
    batch: BATCH_OPTION,
  },
}, async (view, req, o) => {
  const n = req.options?.samples === undefined ? gradientSamples(view, o.samples as number) : (o.samples as number);
  const sigma = o.sigma as number;
  const { batch, note } = fitBatch(costOf(view), o.batch as number, 'SmoothGrad', gradientBatchBudget());
  const [h, w, c] = req.shape;
  const rng = new SeededRandom(req.seed ?? 0);
  const x = imageTensor(req);
  try {
    const sum = await sampledGradientSum(view, n, batch, req.target, (_s, size) => {
      const noise = new Float32Array(size * h * w * c);
      for (let i = 0; i < noise.length; i++) noise[i] = rng.gaussian() * sigma;
      return tf.tidy(() => tf.add(x, tf.tensor4d(noise, [size, h, w, c])) as tf.Tensor4D);
    }, req.signal, req.pause);
    const map = tf.tidy(() => channelSum(tf.div(sum, n)));
    sum.dispose();
    return { map, scores: { samples: n, sigma, batch, ...(note ? { note } : {}) } };
  } finally {
    x.dispose();
  }
}, true);

export const integratedGradients = gradientExplainer({
  id: 'ig', label: 'Integrated Gradients', description: 'Integrated Gradients (Sundararajan et al. 2017) from a constant baseline',
  options: {
    steps: { type: 'integer', default: 50, min: 1, max: 10000, setting: true, description: 'path steps (midpoint rule)' },
    baseline: { type: 'number', default: 0, min: 0, max: 1, description: 'value of the constant baseline image' },
    batch: BATCH_OPTION,
  },
}, async (view, req, o) => {
  const steps = req.options?.steps === undefined ? gradientSamples(view, o.steps as number) : (o.steps as number);
  const baselineValue = o.baseline as number;
  const { batch, note } = fitBatch(costOf(view), o.batch as number, 'Integrated Gradients', gradientBatchBudget());
  const [x, baseline, diff] = tf.tidy(() => {
    const img = imageTensor(req);
    const base = tf.fill(img.shape, baselineValue) as tf.Tensor4D;
    return [img, base, tf.sub(img, base) as tf.Tensor4D];
  });
  try {
    const sum = await sampledGradientSum(view, steps, batch, req.target, (s, size) => tf.tidy(() => {
      const alphas = tf.reshape(tf.tensor1d(Array.from({ length: size }, (_, i) => (s + i + 0.5) / steps)), [size, 1, 1, 1]);
      return tf.add(baseline, tf.mul(alphas, diff)) as tf.Tensor4D;
    }), req.signal, req.pause);
    let ends: Float32Array | Int32Array | Uint8Array = new Float32Array(2);
    let total = 0;
    const map = tf.tidy(() => {
      const attr = tf.mul(diff, tf.div(sum, steps));
      ends = classScore(view.scores(tf.concat([x, baseline], 0) as tf.Tensor4D), req.target).dataSync();
      total = tf.sum(attr).dataSync()[0];
      return channelSum(attr);
    });
    sum.dispose();
    return {
      map,
      scores: { steps, batch, ...(note ? { note } : {}), baseline: baselineValue, scoreDifference: ends[0] - ends[1], attributionSum: total, completenessError: total - (ends[0] - ends[1]) },
    };
  } finally {
    tf.dispose([x, baseline, diff]);
  }
}, true);
