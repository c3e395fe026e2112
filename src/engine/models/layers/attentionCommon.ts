/**
 * Pieces every attention layer shares: argument checks that echo the bad value, NHWC shape checks, global pooling,
 * and the `AttentionMaps` view the attention-map explainer reads.
 */
import * as tf from '@tensorflow/tfjs';

export type Kwargs = Record<string, unknown>;

/** What an attention layer computed for a batch, for explanations. Each layer fills the parts it has. */
export interface AttentionMaps {
  /** [n, c] channel gates in (0, 1) (SE, CBAM). */
  channel?: tf.Tensor2D;
  /** [n, h, w] spatial weights: CBAM's spatial gate in (0, 1), GC's context mask (sums to 1 per image). */
  spatial?: tf.Tensor3D;
  /** [n, h·w, h·w] attention between positions, row i = where query position i looks (PAM; rows sum to 1). */
  positions?: tf.Tensor3D;
}

/** Layers whose attention can be shown. `attentionMaps` runs the layer's own gates on its input; callers tidy. */
export interface AttentionLayer {
  attentionMaps(x: tf.Tensor4D): AttentionMaps;
}

export function isAttentionLayer(layer: unknown): layer is AttentionLayer & tf.layers.Layer {
  return layer instanceof tf.layers.Layer && typeof (layer as Partial<AttentionLayer>).attentionMaps === 'function';
}

export function oneTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 4) throw new Error(`attention layers expect a 4-D NHWC input, got shape [${x.shape.join(', ')}]`);
  return x as tf.Tensor4D;
}

export function channelsOf(inputShape: tf.Shape | tf.Shape[], layer: string): number {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  const c = shape[shape.length - 1];
  if (shape.length !== 4 || c == null) {
    throw new Error(`${layer} expects a 4-D NHWC input with known channels, got shape ${JSON.stringify(shape)}`);
  }
  return c;
}

export function positiveInt(value: unknown, name: string, layer: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${layer}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function numberIn(value: unknown, name: string, layer: string, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= lo || value >= hi) {
    throw new Error(`${layer}: ${name} must be a number in (${lo}, ${hi}), got ${JSON.stringify(value)}`);
  }
  return value;
}

export function booleanArg(value: unknown, name: string, layer: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${layer}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** Seed of the k-th initialiser of a layer built with `seed` (undefined stays unseeded). */
export function nthSeed(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + k;
}

/** [N,H,W,C] → [N,C] by a full-window pool (XNNPACK with native gradients on wasm; axis reductions transpose first). */
export function globalPool(x: tf.Tensor4D, kind: 'avg' | 'max'): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const pooled = kind === 'avg' ? tf.avgPool(x, [h, w], [h, w], 'valid') : tf.maxPool(x, [h, w], [h, w], 'valid');
  return tf.reshape(pooled, [n, c]);
}

/** A 1×1 convolution with bias: [N,H,W,C] · [1,1,C,K] + [K]. */
export function pointwise(x: tf.Tensor4D, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor4D {
  const y = tf.conv2d(x, kernel as tf.Tensor4D, 1, 'valid');
  return bias ? tf.add(y, bias) : y;
}
