/**
 * Class activation maps. One base computes the layer's activations (and, when needed, the gradients of the target
 * score w.r.t. them), asks the method for per-channel weights, and forms ReLU(Σ_k w_k A_k) upsampled to the input;
 * the variants differ only in the weighting step (as in jacobgil/pytorch-grad-cam's BaseCAM).
 *   Grad-CAM   — Selvaraju et al. 2017: w_k = mean over positions of ∂y/∂A_k.
 *   Grad-CAM++ — Chattopadhay et al. 2018: w_k = Σ_ij α_ij relu(∂y/∂A_ij), α = g² / (2g² + Σ_ab A_ab g³).
 *   Score-CAM  — Wang et al. 2020: w_k = p(x ∘ norm(up(A_k))) − p(baseline), no gradients; masked inputs batched.
 */
import * as tf from '@tensorflow/tfjs';
import type { Attribution, Explainer, ExplainRequest, ModelView, ResolvedOptions } from '../types';
import type { Descriptor } from '../../../shared/descriptors';
import { checkAborted, classScore, imageTensor, optionsOf } from './common';
import { pacer } from '../pacing';
import { forwardBatchOf, inputBatch } from '../budget';

interface CamInputs {
  view: ModelView;
  req: ExplainRequest;
  options: ResolvedOptions;
  x: tf.Tensor4D;
  /** [h, w, K] */
  activations: tf.Tensor3D;
  /** [h, w, K], only for gradient methods. */
  grads?: tf.Tensor3D;
  /** Adds entries to the attribution's `scores` (sizes used, notes). */
  report: (extra: Record<string, unknown>) => void;
}

/** Per-channel weights; async so a long weighting (Score-CAM's masked inputs) can give way between batches. */
type Weighting = (inp: CamInputs) => Promise<tf.Tensor1D>;

function activationsAndGrads(view: ModelView, req: ExplainRequest, x: tf.Tensor4D, withGrads: boolean): { a: tf.Tensor3D; g?: tf.Tensor3D } {
  const [h, w, k] = view.layerShape(req.layer);
  if (!withGrads) {
    const { activations } = view.probe(req.layer, x, tf.zeros([1, h, w, k]) as tf.Tensor4D);
    return { a: tf.reshape(activations, [h, w, k]) as tf.Tensor3D };
  }
  const r = view.layerGradients(req.layer, x, (scores) => tf.sum(classScore(scores, req.target)));
  return { a: tf.reshape(r.activations, [h, w, k]) as tf.Tensor3D, g: tf.reshape(r.gradients, [h, w, k]) as tf.Tensor3D };
}

function camExplainer(descriptor: Descriptor, usesGradients: boolean, weighting: Weighting): Explainer {
  const explainer: Explainer = {
    ...descriptor,
    capabilities: { usesGradients, blackBox: !usesGradients, needsSpatialLayer: true, signed: false },
    async explain(view: ModelView, req: ExplainRequest): Promise<Attribution> {
      checkAborted(req.signal);
      const t0 = performance.now();
      const options = optionsOf(explainer, req);
      const [H, W] = req.shape;
      let weights: Float32Array = new Float32Array(0);
      const extra: Record<string, unknown> = {};
      const x = imageTensor(req);
      const held: tf.Tensor[] = [x];
      let layerMap: tf.Tensor2D;
      let heat: tf.Tensor2D;
      try {
        const { a, g } = tf.tidy(() => activationsAndGrads(view, req, x, usesGradients));
        held.push(a, ...(g ? [g] : []));
        const wts = await weighting({ view, req, options, x, activations: a, grads: g, report: (e) => Object.assign(extra, e) });
        held.push(wts);
        weights = wts.dataSync() as Float32Array;
        [layerMap, heat] = tf.tidy(() => {
          const cam = tf.relu(tf.sum(tf.mul(a, wts), -1)) as tf.Tensor2D;
          const [h, w] = cam.shape;
          const up = tf.image.resizeBilinear(tf.reshape(cam, [1, h, w, 1]) as tf.Tensor4D, [H, W]);
          return [cam, tf.reshape(up, [H, W]) as tf.Tensor2D];
        });
      } finally {
        tf.dispose(held);
      }
      const [h, w] = layerMap.shape;
      const result: Attribution = {
        method: descriptor.id,
        heatmap: heat.dataSync() as Float32Array,
        height: H,
        width: W,
        signed: false,
        layerMap: { layer: req.layer, height: h, width: w, data: layerMap.dataSync() as Float32Array },
        scores: { channelWeights: Array.from(weights), ...extra },
        ms: 0,
      };
      layerMap.dispose();
      heat.dispose();
      result.ms = performance.now() - t0;
      return result;
    },
  };
  return explainer;
}

export const gradCam = camExplainer({
  id: 'gradcam', label: 'Grad-CAM', description: 'Grad-CAM (Selvaraju et al. 2017): channels weighted by their mean gradient', options: {},
}, true, async ({ grads }) => tf.mean(grads!, [0, 1]) as tf.Tensor1D);

export const gradCamPlusPlus = camExplainer({
  id: 'gradcampp', label: 'Grad-CAM++', description: 'Grad-CAM++ (Chattopadhay et al. 2018): higher-order gradient weights', options: {},
}, true, async ({ activations, grads }) => tf.tidy(() => {
  const g = grads!;
  const g2 = tf.square(g);
  const g3 = tf.mul(g2, g);
  const sumA = tf.sum(activations, [0, 1]);
  const denom = tf.add(tf.mul(g2, 2), tf.mul(sumA, g3));
  const alpha = tf.where(tf.notEqual(g, 0), tf.div(g2, tf.add(denom, 1e-7)), tf.zerosLike(g));
  return tf.sum(tf.mul(alpha, tf.relu(g)), [0, 1]) as tf.Tensor1D;
}));

export const scoreCam = camExplainer({
  id: 'scorecam', label: 'Score-CAM', description: 'Score-CAM (Wang et al. 2020): channels weighted by the score of the input they mask',
  options: {
    batch: { type: 'integer', default: 64, min: 1, max: 1024, description: 'masked inputs per model call' },
    maps: {
      type: 'integer', default: 256, min: 0, max: 100000,
      description: 'most activation maps scored, those that vary most over the image (the rest weigh 0); 0 = every channel',
    },
  },
}, false, async ({ view, req, options, x, activations, report }) => {
  const [H, W] = req.shape;
  const [, , k] = activations.shape;
  const batch = inputBatch(req.shape, options.batch as number);
  const limit = options.maps as number;
  // A map that hardly varies masks the input almost uniformly, so its score differs little from the baseline's: at
  // MobileNetV2's 1,280 channels the most varying 256 carry the map at a fifth of the forward passes.
  const channels = limit > 0 && k > limit ? mostVarying(activations, limit) : undefined;
  const m = channels?.length ?? k;
  const selected = channels ? tf.gather(activations, channels, 2) : activations;
  // Each channel, upsampled and min-max normalised, masks the input. Built per chunk: all 1280 maps of a
  // MobileNetV2 at 224×224 would take 257 MB per copy.
  const base = tf.tidy(() => classScore(view.probabilities(tf.zerosLike(x)), req.target));
  const valid: tf.Tensor[] = [];
  const parts: tf.Tensor[] = [];
  const tick = pacer(req.pause, req.signal);
  try {
    for (let s = 0; s < m; s += batch) {
      await tick();
      const n = Math.min(batch, m - s);
      parts.push(tf.tidy(() => {
        const up = tf.image.resizeBilinear(tf.expandDims(tf.slice(selected, [0, 0, s], [-1, -1, n]), 0) as tf.Tensor4D, [H, W]);
        const lo = tf.min(up, [0, 1, 2], true);
        const range = tf.sub(tf.max(up, [0, 1, 2], true), lo);
        valid.push(tf.keep(tf.cast(tf.greater(tf.reshape(range, [n]), 1e-12), 'float32')));
        const masks = tf.reshape(tf.transpose(tf.div(tf.sub(up, lo), tf.maximum(range, 1e-12)), [3, 1, 2, 0]), [n, H, W, 1]);
        return classScore(view.probabilities(tf.mul(x, masks) as tf.Tensor4D), req.target); // masks broadcast over channels
      }));
    }
    report({ maps: m, ...(channels ? { channels: k, mapsChosenBy: 'spatial variance' } : {}), batch, forwardBatch: forwardBatchOf(view) });
    return tf.tidy(() => {
      // Channels whose map is constant carry no spatial information: weight 0.
      const w = tf.mul(tf.sub(tf.concat(parts, 0), base), tf.concat(valid, 0)) as tf.Tensor1D;
      if (!channels) return w;
      const full = new Float32Array(k);
      const wv = w.dataSync();
      channels.forEach((c, i) => (full[c] = wv[i]));
      return tf.tensor1d(full);
    });
  } finally {
    tf.dispose([base, ...parts, ...valid]);
    if (selected !== activations) selected.dispose();
  }
});

/** The `count` channels of [h, w, K] activations with the largest variance over positions, in channel order. */
function mostVarying(activations: tf.Tensor3D, count: number): number[] {
  const variance = tf.tidy(() => tf.moments(activations, [0, 1]).variance).dataSync();
  const order = Array.from(variance.keys()).sort((a, b) => variance[b] - variance[a] || a - b);
  return order.slice(0, count).sort((a, b) => a - b);
}
