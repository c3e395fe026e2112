/**
 * Using a second core. TensorFlow.js's wasm backend computes on the thread that calls it, so the engine keeps a copy of
 * the model in a worker thread (replicaWorker.ts) and hands it half of the work:
 * - training: every batch is split in two; both halves' gradients are computed at the same time, and their mean,
 *   weighted by the halves' sizes (= the gradient of the whole batch's mean loss), is applied once, here. Batch-norm
 *   layers normalise each half with its own statistics, as multi-GPU training without synchronised batch norm does;
 *   the saved moving averages are this thread's.
 * - inference: the images are split in two and predicted at the same time.
 * - explanations: SmoothGrad's and Integrated Gradients' samples are split in two (explainReplica.ts).
 * Measured on the 2-core development machine: two wasm trainers side by side ran at 1.9× one.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { activeBackend } from '../backend/backends';
import { join } from 'node:path';
import { XaiLensError } from '../errors';
import { computeGradients, logitsModel } from '../training/gradients';
import { predictProbabilities, type ImageBatchSource } from '../inference';
import { flatten, type ReplicaReply, type ReplicaRequest } from './protocol';

/** The worker bundle sits beside the bundle that runs the engine (dist/ for the CLI and the engine process). */
export function replicaWorkerScript(): string {
  return join(__dirname, 'replica-worker.js');
}

export class Replica {
  private pending: { resolve: (r: ReplicaReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: ReplicaReply) => this.settle(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new XaiLensError(`the second engine thread stopped (exit code ${code})`)));
  }

  /**
   * Starts the worker, builds the same architecture there and waits until its backend is ready. `modelPath`: the
   * file or folder `model` was imported from, which the worker imports again, for models whose layers TF.js cannot
   * rebuild from their topology (ONNX and TF.js graph imports, a preprocessing layer in front).
   */
  static async start(model: tf.LayersModel, backend: string, shape: [number, number, number], numClasses: number, modelPath?: string): Promise<Replica> {
    const script = replicaWorkerScript();
    if (!existsSync(script)) throw new XaiLensError(`the replica worker bundle is missing (${script}); run npm run build`);
    const replica = new Replica(new Worker(script));
    try {
      await replica.request({ type: 'init', backend, ...(modelPath ? { modelPath } : { modelTopology: model.toJSON(undefined, false) }), shape, numClasses });
    } catch (err) {
      await replica.close();
      throw err;
    }
    return replica;
  }

  private settle(msg: ReplicaReply): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    if (msg.type === 'error') p.reject(new XaiLensError(`second engine thread: ${msg.message}`));
    else p.resolve(msg);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.pending?.reject(err);
    this.pending = undefined;
  }

  /** One request at a time; `transfer` lists buffers moved (not copied) to the worker, unusable here afterwards. */
  request(msg: ReplicaRequest, transfer: ArrayBufferLike[] = []): Promise<ReplicaReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('Replica: one request at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer as ArrayBuffer[]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    // A request still in flight would otherwise never settle.
    this.fail(new XaiLensError('the second engine thread was closed'));
    await this.worker.terminate();
  }
}

/**
 * A training step that computes the first half of the batch here and the second half on the replica, then applies
 * the size-weighted mean of the two gradients with `optimizer`. Returns [mean loss, correct predictions].
 */
export function createParallelTrainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  shape: [number, number, number],
  numClasses: number,
  replica: Replica,
): (images: Float32Array, labels: Int32Array, n: number) => Promise<[number, number]> {
  const trainable = logitsModel(model);
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const per = shape[0] * shape[1] * shape[2];
  return async (images, labels, n) => {
    const nB = n >> 1;
    const nA = n - nB;
    let remote: Promise<ReplicaReply> | undefined;
    if (nB > 0) {
      const weights = flatten(vars);
      const imagesB = images.slice(nA * per, n * per);
      const labelsB = labels.slice(nA, n);
      remote = replica.request({ type: 'gradients', weights, images: imagesB, labels: labelsB, n: nB }, [weights.buffer, imagesB.buffer, labelsB.buffer]);
    }
    const own = computeGradients(trainable, vars, shape, numClasses, images, labels, nA);
    let reply: ReplicaReply | undefined;
    try {
      reply = remote ? await remote : undefined;
    } catch (err) {
      tf.dispose(own.grads);
      throw err;
    }
    const other = reply?.type === 'gradients' ? reply : undefined;
    tf.tidy(() => {
      const remoteGrads = other ? tf.tensor1d(other.grads) : undefined;
      let off = 0;
      const mean: tf.NamedTensorMap = {};
      for (const v of vars) {
        const g = own.grads[v.name];
        mean[v.name] = remoteGrads
          ? tf.add(tf.mul(g, nA / n), tf.mul(tf.reshape(tf.slice(remoteGrads, off, v.size), v.shape), nB / n))
          : g;
        off += v.size;
      }
      optimizer.applyGradients(mean);
    });
    tf.dispose(own.grads);
    const loss = other ? (own.loss * nA + other.loss * nB) / n : own.loss;
    return [loss, own.correct + (other?.correct ?? 0)];
  };
}

/** predictProbabilities with the second half of the images on the replica, at the same time. Same result. */
export async function predictInTwoThreads(model: tf.LayersModel, src: ImageBatchSource, batchSize: number, replica: Replica): Promise<Float32Array> {
  const per = src.shape[0] * src.shape[1] * src.shape[2];
  const nB = src.count >> 1;
  const nA = src.count - nB;
  if (nB === 0) return predictProbabilities(model, src, batchSize);
  const weights = flatten(model.weights.map((v) => v.read() as tf.Variable));
  const imagesB = src.images.slice(nA * per, src.count * per);
  const remote = replica.request({ type: 'predict', weights, images: imagesB, n: nB, batchSize }, [weights.buffer, imagesB.buffer]);
  const own = predictProbabilities(model, { ...src, count: nA }, batchSize);
  const reply = await remote;
  if (reply.type !== 'probabilities') throw new XaiLensError(`second engine thread answered "${reply.type}" to predict`);
  const numClasses = own.length / nA;
  const out = new Float32Array(src.count * numClasses);
  out.set(own, 0);
  out.set(reply.probs, nA * numClasses);
  return out;
}

/**
 * Whether a second thread pays: on wasm (one core per thread) with two cores or more. Native TensorFlow already uses
 * every core, and the cpu backend is too slow to matter.
 */
export function secondThreadPays(backendName = activeBackend()?.name): boolean {
  return backendName === 'wasm' && availableParallelism() >= 2;
}

/** Multiply-accumulates per image from which a gradient counterfactual's steps are split between the threads, and
 * from which gradient methods wait for a second thread still loading. */
export const SPLIT_MIN_MACS = 50e6;

/**
 * Whether explanations split their gradient samples with a second thread: where that pays, unless
 * `XAI_LENS_THREADS=1` keeps them on one (the fallback path, and A/B measurements).
 */
export function explainThreadsPay(): boolean {
  return process.env.XAI_LENS_THREADS !== '1' && secondThreadPays();
}

/**
 * Probabilities for every image, with a replica thread where that pays (secondThreadPays) and there are enough images
 * to repay the worker's start (about half a second).
 */
export async function predictFast(model: tf.LayersModel, src: ImageBatchSource, batchSize: number, numClasses: number): Promise<Float32Array> {
  if (!secondThreadPays() || src.count < 2048) return predictProbabilities(model, src, batchSize);
  const replica = await Replica.start(model, 'wasm', src.shape, numClasses);
  try {
    return await predictInTwoThreads(model, src, batchSize, replica);
  } finally {
    await replica.close();
  }
}
