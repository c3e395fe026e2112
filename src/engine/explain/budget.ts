/**
 * How much work and memory one image costs a model, and the batch sizes and sample counts that follow from it.
 *
 * The wasm backend's heap is one 4 GB linear memory: a batch whose tensors do not fit aborts the whole module
 * ("internal error: Aborted()"), which no try/catch recovers. So every batched method asks here how many images fit
 * before it runs, instead of finding out. The per-image figure is measured, not derived: on the wasm backend a
 * MobileNetV2 at 224×224×3 holds ~14.8 bytes per activation value at its peak (α 1: 294 MB for 19.8 M values; α 0.35:
 * 134 MB for 8.6 M), forward inside `tidy` and forward + backward alike, so 16 bytes per value is the estimate.
 */
import * as tf from '@tensorflow/tfjs';
import { countMacs } from '../models/modelStats';

/** Peak bytes per activation value per image (measured ~14.8–15.6 on wasm; rounded up). */
export const BYTES_PER_ACTIVATION = 16;

/** Memory one batch may take: a quarter of the wasm heap, leaving room for weights, inputs and the other quarters'
 * fragmentation. `XAI_LENS_BATCH_MEMORY_MB` overrides it (tests use it to force small batches). */
export function batchMemoryBudget(): number {
  const mb = Number(process.env.XAI_LENS_BATCH_MEMORY_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : 1024) * 2 ** 20;
}

/**
 * Memory one batch of input gradients (SmoothGrad, IG) may take: at most 256 MB. Fresh memory costs on first touch
 * (page faults: ~4 s per GB on a small cloud VM), and a process touches its largest batch once per thread, while a
 * gradient batch of one MobileNetV2 image at 224×224×3 already runs as fast per image as a batch of three (SmoothGrad-50
 * 3.3 s either way, warm). So the batch stays small where images are large: in a fresh `explain` process SmoothGrad-50
 * on the nsfwjs MobileNetV2 took 7.3–8.5 s at batch 3 and 5.5 s at batch 1. Small models keep large batches.
 */
export function gradientBatchBudget(): number {
  return Math.min(batchMemoryBudget(), 256 * 2 ** 20);
}

/** Multiply-accumulates a method may spend on its samples before its default count shrinks: LIME's 1000 samples of
 * a MobileNetV2 at 224×224×3 (300 M MACs each). Bigger models get fewer samples by default, never below a floor. */
export const SAMPLE_MAC_BUDGET = 1000 * 320e6;

export interface ModelCost {
  /** Multiply-accumulates per image. */
  macs: number;
  /** Sum of every layer's output values per image (nested models included). */
  activations: number;
  /** Estimated peak bytes per image in a batch, forward and backward. */
  bytesPerImage: number;
  /** The largest single layer output per image, in values. */
  largest: number;
}

/** A layer that runs a graph of its own (a TF.js graph segment) and knows the values its inner ops produce. */
interface WithInnerValues {
  innerValues(): number;
}

function hasInnerValues(layer: unknown): layer is WithInnerValues {
  return typeof (layer as Partial<WithInnerValues>).innerValues === 'function';
}

function activationValues(model: tf.LayersModel): { sum: number; largest: number } {
  let sum = 0;
  let largest = 0;
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) {
      const inner = activationValues(layer);
      sum += inner.sum;
      largest = Math.max(largest, inner.largest);
      continue;
    }
    if (hasInnerValues(layer)) {
      sum += layer.innerValues();
      continue;
    }
    for (const t of layer.inboundNodes[0]?.outputTensors ?? []) {
      const n = t.shape.slice(1).reduce((a: number, d) => a * (d ?? 1), 1);
      sum += n;
      largest = Math.max(largest, n);
    }
  }
  return { sum, largest };
}

export function modelCost(model: tf.LayersModel): ModelCost {
  const { sum, largest } = activationValues(model);
  return { macs: countMacs(model), activations: sum, bytesPerImage: BYTES_PER_ACTIVATION * sum, largest };
}

/** Images per ONNX Runtime batch: it frees each activation once consumed, so a few of the largest layer outputs per
 * image bound its memory (outside the wasm heap); 32 at most, the batch its throughput is measured at. */
export function nativeBatch(cost: ModelCost): number {
  return Math.max(1, Math.min(32, Math.floor(batchMemoryBudget() / (4 * 4 * Math.max(1, cost.largest)))));
}

export interface BatchChoice {
  batch: number;
  /** Set when the requested batch would not fit and a smaller one is used. */
  note?: string;
}

/** The largest batch ≤ `requested` that fits `budget` (at least 1: one image always runs). */
export function fitBatch(cost: ModelCost, requested: number, what: string, budget = batchMemoryBudget()): BatchChoice {
  const fits = Math.max(1, Math.floor(budget / cost.bytesPerImage));
  if (requested <= fits) return { batch: requested };
  const need = (requested * cost.bytesPerImage) / 2 ** 20;
  return {
    batch: fits,
    note: `${what}: a batch of ${requested} would need ~${need.toFixed(0)} MB, over the ${(budget / 2 ** 20).toFixed(0)} MB budget; ran batches of ${fits}`,
  };
}

/** A default sample count for a model of this cost: `base` while it costs at most SAMPLE_MAC_BUDGET, fewer beyond. */
export function scaledSamples(cost: ModelCost, base: number, floor: number): number {
  if (cost.macs <= 0 || base * cost.macs <= SAMPLE_MAC_BUDGET) return base;
  return Math.max(Math.min(floor, base), Math.round(SAMPLE_MAC_BUDGET / cost.macs));
}

/** Activation values per input value of MobileNetV2 at 224×224×3 (19.8 M / 150,528): the estimate for a view that
 * does not know its model's layers. */
const ACTIVATIONS_PER_INPUT = 132;

/** The view's cost, or an estimate from its input size. */
export function costOf(view: { cost?: ModelCost; inputShape: [number, number, number] }): ModelCost {
  if (view.cost) return view.cost;
  const activations = ACTIVATIONS_PER_INPUT * view.inputShape[0] * view.inputShape[1] * view.inputShape[2];
  return { macs: 0, activations, bytesPerImage: BYTES_PER_ACTIVATION * activations, largest: activations / 16 };
}

/** Images per chunk for methods that build their inputs (Score-CAM masks, LIME samples): a chunk with its ~4 working
 * copies stays within a quarter of the batch budget. The model's own batches are bounded by the view. */
export function inputBatch(shape: readonly number[], requested: number): number {
  const bytes = 16 * shape.reduce((a, b) => a * b, 1);
  return Math.max(1, Math.min(requested, Math.floor(batchMemoryBudget() / 4 / bytes)));
}

/** Images per forward batch of the view: its own figure, or what its cost allows. */
export function forwardBatchOf(view: { cost?: ModelCost; forwardBatch?: number; inputShape: [number, number, number] }): number {
  return view.forwardBatch ?? fitBatch(costOf(view), 256, 'forward').batch;
}
