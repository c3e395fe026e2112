/**
 * The explainer contract. Every attribution method implements `Explainer` and is listed once in `registry.ts`; the
 * CLI, the engine process and the tests only go through that list.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelCost } from './budget';
import type { Pause } from './pacing';
import type { Descriptor, OptionValues } from '../../shared/descriptors';
import type { AttentionMaps } from '../models/layers/attentionCommon';

/** Batched class probabilities: [n, h, w, c] images in [0, 1] → [n, classes]. Not differentiable by contract. */
export type ProbFn = (x: tf.Tensor4D) => tf.Tensor2D;
/** Batched differentiable class scores (logits where the model has them, else log-probabilities): [n, classes]. */
export type ScoreFn = (x: tf.Tensor4D) => tf.Tensor2D;
/** Class probabilities of n images stored back to back in `data` (NHWC, [0, 1]): n × classes, row by row. */
export type FlatProbFn = (data: Float32Array, n: number) => Float32Array;

export type ImageShape = [number, number, number];

export interface Capabilities {
  /** Needs gradients of the model (white-box). */
  usesGradients: boolean;
  /** Needs only predictions (black-box). */
  blackBox: boolean;
  /** Works on the activations of a 4-D (spatial) layer. */
  needsSpatialLayer: boolean;
  /** The heatmap is signed (negative = evidence against the target). */
  signed: boolean;
  /** Splits its gradient samples with the engine's second thread (`ModelView.secondThread`) when there is one. */
  secondThread?: boolean;
}

/**
 * The engine's second thread seen from an explainer: a copy of the same model that computes input gradients
 * (parallel/explainReplica.ts). It takes one half batch at a time; its buffers arguments are moved there, not copied.
 */
export interface GradientPeer {
  /** Loaded, idle and not failed: a half sent now starts at once instead of waiting. */
  available(): boolean;
  /** Settles when the peer has loaded or could not (never rejects); absent: it is ready. */
  ready?: Promise<void>;
  /** Σ over the `n` images ([n, h, w, c] values) of ∂y_target/∂x, as h·w·c values; rejects if the thread failed. */
  gradientSum(images: Float32Array, n: number, target: number): Promise<Float32Array>;
  /** The gradient counterfactual's step for `n` of its λ lanes (counterfactuals/gradient.ts laneGradient). */
  laneGradient(req: LaneRequest): Promise<{ grads: Float32Array; stats: Float32Array }>;
}

/** Lanes of the gradient counterfactual for the second thread: their points, λs, and the margin's terms. */
export interface LaneRequest {
  /** [n, h, w, c] values. */
  lanes: Float32Array;
  n: number;
  lambdas: Float32Array;
  /** The input image, h·w·c values. */
  original: Float32Array;
  cls: number;
  sign: number;
  kappa: number;
}

export interface ExplainRequest {
  /** The image in model-input form: h × w × c values in [0, 1]. */
  image: Float32Array;
  shape: ImageShape;
  /** Class to explain. */
  target: number;
  /** Name of the 4-D layer for CAM methods. */
  layer: string;
  /** Options of the method (sample counts, noise, baseline…), checked against its schema; absent ones take defaults. */
  options?: Record<string, unknown>;
  /** Seed for methods that sample. */
  seed?: number;
  signal?: AbortSignal;
  /** Awaited between batches of a long method, so a cancel or a newer request gets in (pacing.ts). */
  pause?: Pause;
}

export interface LayerMap {
  layer: string;
  height: number;
  width: number;
  data: Float32Array;
}

export interface Attribution {
  method: string;
  /** h × w at input resolution, row-major; higher = more evidence for the target. */
  heatmap: Float32Array;
  height: number;
  width: number;
  signed: boolean;
  /** CAM methods: the map at the layer's resolution before upsampling. */
  layerMap?: LayerMap;
  /** What the method computed on the way: channel weights, segment weights, fit R², … */
  scores?: Record<string, unknown>;
  ms: number;
}

/** What an explainer gets: the model, seen as functions, plus a probe into its spatial layers. */
export interface ModelView {
  probabilities: ProbFn;
  /**
   * `probabilities` for images already in a flat array, without a TF.js tensor where the forward pass is native:
   * methods that build many perturbed inputs (LIME, counterfactual searches) fill one buffer and call this. Views
   * without it are served through `probabilities` (`flatProbabilitiesOf`).
   */
  flatProbabilities?: FlatProbFn;
  scores: ScoreFn;
  /**
   * One forward pass that returns the activations of `layer` and the class scores, with `delta` added to those
   * activations on the way (zeros: the plain model). Differentiable w.r.t. `x` and `delta`, so the gradient of a
   * score w.r.t. `delta` at zero is its gradient w.r.t. the activations — for any graph, skip connections included.
   */
  probe(layer: string, x: tf.Tensor4D, delta: tf.Tensor4D): { activations: tf.Tensor4D; scores: tf.Tensor2D };
  /**
   * The activations of `layer` for `x` and the gradient of `score(scores)` w.r.t. them: the probe's delta gradient,
   * computed by differentiating only the graph after the layer where it can be cut there. The caller disposes (tidy).
   */
  layerGradients(layer: string, x: tf.Tensor4D, score: (scores: tf.Tensor2D) => tf.Scalar): { activations: tf.Tensor4D; gradients: tf.Tensor4D };
  /** [h, w, channels] of a 4-D layer's output. */
  layerShape(layer: string): ImageShape;
  /** Layers with an attention mechanism (SE, CBAM, PAM, GC, …), in graph order; empty when the model has none. */
  attentionLayers: AttentionSite[];
  /** What attention layer `layer` computes for images `x` (one forward pass up to it). The caller disposes (tidy). */
  attentionMaps(layer: string, x: tf.Tensor4D): AttentionMaps;
  inputShape: ImageShape;
  numClasses: number;
  /** Work and memory per image, which batched methods size their batches and default sample counts by; views that
   * cannot tell leave it out and get an estimate from the input size (`costOf`). */
  cost?: ModelCost;
  /** Images per model batch that `probabilities` uses (it splits larger inputs itself). */
  forwardBatch?: number;
  /** A second thread holding the same model, where one is started and pays; absent: every gradient runs here. */
  secondThread?: GradientPeer;
}

export interface AttentionSite {
  layer: string;
  className: string;
  /** [h, w, c] of the layer's input (and output). */
  shape: ImageShape;
}

/** An attribution method: its descriptor (id, label, description, option schema with defaults and ranges) and code. */
export interface Explainer extends Descriptor {
  capabilities: Capabilities;
  /**
   * Why the method cannot explain this model (e.g. it has no attention layers), or undefined when it can. Runs of
   * several methods skip such a method and report the reason instead of failing.
   */
  unavailable?(model: ModelView): string | undefined;
  explain(model: ModelView, req: ExplainRequest): Promise<Attribution>;
}

/** An explainer's options resolved against its schema (the values every method body reads). */
export type ResolvedOptions = OptionValues;
