/**
 * One epoch of training: shuffled batches, on-the-fly augmentation, one optimisation step per batch, 'progress' events
 * now and then. Cancellation is checked between batches; a cancelled epoch is simply not finished (its checkpoint is
 * the previous epoch's).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/datasets';
import type { Augmenter } from '../data/augment';
import { permutation } from '../data/random';
import { computeGradients, logitsModel } from './gradients';
import type { LearningRatePolicy } from './schedule';

/** [mean loss, correct predictions] of one batch; synchronous on one thread, a promise with a second thread. */
export type TrainStep = (images: Float32Array, labels: Int32Array, n: number) => [number, number] | Promise<[number, number]>;

/**
 * One optimisation step on a batch: forward in training mode (batch-norm statistics update), softmax cross-entropy
 * on the logits, gradients, Adam update. Returns [mean loss, number of correct predictions]. The benchmark times
 * exactly this function.
 */
export function createTrainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  shape: [number, number, number],
  numClasses: number,
): (images: Float32Array, labels: Int32Array, n: number) => [number, number] {
  const trainable = logitsModel(model);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  return (images, labels, n) => {
    const { loss, correct, grads } = computeGradients(trainable, vars, shape, numClasses, images, labels, n);
    optimizer.applyGradients(grads);
    tf.dispose(grads);
    return [loss, correct];
  };
}

export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // tfjs keeps the rate in a protected field that applyGradients reads each step; there is no public setter.
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function gatherBatch(ds: ImageDataset, order: Int32Array, start: number, n: number, out: Float32Array, labels: Int32Array): void {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  for (let i = 0; i < n; i++) {
    const idx = order[start + i];
    out.set(ds.images.subarray(idx * per, (idx + 1) * per), i * per);
    labels[i] = ds.labels[idx];
  }
}

export interface EpochProgress {
  type: 'progress';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface EpochTotals {
  /** True when the signal stopped the epoch before its last batch. */
  cancelled: boolean;
  lossSum: number;
  correct: number;
  seen: number;
  /** Seconds spent in the batches (without validation). */
  trainSeconds: number;
  /** performance.now() when the epoch started. */
  startedAt: number;
}

export interface EpochArgs {
  epoch: number;
  epochs: number;
  train: ImageDataset;
  batchSize: number;
  seed: number;
  step: TrainStep;
  optimizer: tf.Optimizer;
  policy: LearningRatePolicy;
  augmenter?: Augmenter;
  signal?: AbortSignal;
  /** Minimum milliseconds between two 'progress' events. */
  progressIntervalMs: number;
  /** Reused batch buffers (batchSize × H × W × C and batchSize). */
  buffers: { images: Float32Array; labels: Int32Array };
}

/** Runs one epoch, yielding 'progress' events; returns its totals. */
export async function* runEpoch(a: EpochArgs): AsyncGenerator<EpochProgress, EpochTotals> {
  const ds = a.train;
  const [h, w, c] = ds.shape;
  const per = h * w * c;
  const batches = Math.ceil(ds.count / a.batchSize);
  const order = permutation(ds.count, a.seed * 1000003 + a.epoch);
  const t0 = performance.now();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let lastReport = 0;
  for (let b = 0; b < batches; b++) {
    if (a.signal?.aborted) return { cancelled: true, lossSum, correct, seen, trainSeconds: (performance.now() - t0) / 1000, startedAt: t0 };
    const n = Math.min(a.batchSize, ds.count - b * a.batchSize);
    gatherBatch(ds, order, b * a.batchSize, n, a.buffers.images, a.buffers.labels);
    let images: Float32Array = a.buffers.images.subarray(0, n * per);
    if (a.augmenter) images = a.augmenter.apply(images, n, h, w, c);
    const rate = a.policy.stepRate(a.epoch, b);
    if (rate !== undefined) setLearningRate(a.optimizer, rate);
    const [batchLoss, batchCorrect] = await a.step(images, a.buffers.labels.subarray(0, n), n);
    lossSum += batchLoss * n;
    correct += batchCorrect;
    seen += n;
    // Yield to the event loop now and then so that Ctrl-C and RPC messages get through.
    const now = performance.now();
    if (now - lastReport >= a.progressIntervalMs || b === batches - 1) {
      lastReport = now;
      const ips = seen / ((now - t0) / 1000);
      const remaining = (batches - b - 1) * a.batchSize + (a.epochs - a.epoch) * ds.count;
      yield { type: 'progress', epoch: a.epoch, epochs: a.epochs, batch: b + 1, batches, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: ips, etaSeconds: remaining / ips };
      await new Promise((r) => setImmediate(r));
    }
  }
  return { cancelled: false, lossSum, correct, seen, trainSeconds: (performance.now() - t0) / 1000, startedAt: t0 };
}
