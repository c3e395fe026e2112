/** Messages between the engine and its replica worker thread (replicaWorker.ts). */
import * as tf from '@tensorflow/tfjs';
import type { LaneRequest } from '../explain/types';

/**
 * Weights and gradients travel as one Float32Array, the tensors' values concatenated in order, in a buffer of its own
 * so it can be transferred rather than cloned. Built outside tf.tidy, which would walk a returned typed array.
 */
export function flatten(tensors: tf.Tensor[]): Float32Array<ArrayBuffer> {
  // A wrapped TF.js graph model keeps its weights outside its layers.
  if (!tensors.length) return new Float32Array(0);
  const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  const out = new Float32Array(flat.dataSync());
  flat.dispose();
  return out;
}

export type ReplicaRequest =
  | { type: 'init'; backend: string; modelTopology?: unknown; modelPath?: string; shape: [number, number, number]; numClasses: number }
  /** Set the replica's trainable weights (flattened in model order), then compute gradients of this half batch. */
  | { type: 'gradients'; weights: Float32Array; images: Float32Array; labels: Int32Array; n: number }
  /** Set all weights (model.weights order, batch-norm statistics included), then predict `n` images in batches. */
  | { type: 'predict'; weights: Float32Array; images: Float32Array; n: number; batchSize: number }
  /** Set all weights once (model.weights order): an explained model does not change, so later requests bring none. */
  | { type: 'weights'; weights: Float32Array }
  /** Σ over `n` images of ∂y_target/∂x with the weights last set, y the class score explainers use (modelView). */
  | { type: 'gradientSum'; images: Float32Array; n: number; target: number }
  /** The gradient counterfactual's loss gradient and stats for some of its lanes, with the weights last set. */
  | ({ type: 'laneGradient' } & LaneRequest);

export type ReplicaReply =
  | { type: 'ready' }
  /** numTensors: the worker's live tensors after the step (a leak shows as growth). */
  | { type: 'gradients'; grads: Float32Array; loss: number; correct: number; numTensors: number }
  | { type: 'probabilities'; probs: Float32Array }
  /** h·w·c values; numTensors as for 'gradients'. */
  | { type: 'gradientSum'; sum: Float32Array; numTensors: number }
  /** n·h·w·c gradient values and n × [−gap, ‖δ‖², ‖δ‖₁]. */
  | { type: 'laneGradient'; grads: Float32Array; stats: Float32Array; numTensors: number }
  | { type: 'error'; message: string };
