/**
 * The training loop: Adam, ReduceLROnPlateau on validation loss or a one-cycle schedule, early stopping, validation
 * every epoch, optionally two threads (../parallel/replica.ts), a
 * checkpoint (model + optimizer + state) after every epoch, resumable from its run folder. Progress is an async
 * iterable of events that the CLI, the extension's task terminal and tests consume; an AbortSignal cancels between
 * batches and keeps the last complete epoch's checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { XaiLensError } from '../errors';
import { resolveOptions } from '../options';
import { getArchitecture } from '../models/zoo';
import { countMacs } from '../models/modelStats';
import { loadModel, saveModel, writeModelCard } from '../io/modelFolder';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomicFs';
import { evaluateModel, evaluateProbabilities } from '../inference';
import { activeBackend } from '../backend/backends';
import { Augmenter } from '../data/augment';
import { permutation } from '../data/random';
import type { ImageDataset } from '../data/datasets';
import type { EpochRecord, ModelCard } from '../modelCard';
import { computeGradients, logitsModel } from './gradients';
import { Replica, createParallelTrainStep, predictInTwoThreads } from '../parallel/replica';

export interface AugmentationOptions {
  rotationDeg?: number;
  translatePx?: number;
  elastic?: { alpha: number; sigma: number; probability?: number };
}

export interface TrainOptions {
  architecture: string;
  /** The data spec as the user gave it (recorded in the model card). */
  dataSpec: string;
  train: ImageDataset;
  validation: ImageDataset;
  test?: ImageDataset;
  outDir: string;
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** The architecture's options (its backbone's, its attention kind's, `attach`); absent ones keep their defaults. */
  modelOptions?: Record<string, unknown>;
  seed?: number;
  augmentation?: AugmentationOptions | false;
  /**
   * 'plateau' (default): ReduceLROnPlateau. 'one-cycle': linear warm-up to `learningRate` over `warmupEpochs`, then
   * cosine decay to 0 at the last step of epoch `epochs`, set every step (Smith & Topin 2017; in a PyTorch mirror of
   * the bundled model it beat the plateau schedule at equal epochs).
   */
  schedule?: LearningRateSchedule;
  /** One-cycle warm-up in epochs. Default 1. */
  warmupEpochs?: number;
  /** ReduceLROnPlateau: factor and patience (epochs without a validation-loss improvement). */
  plateau?: { factor: number; patience: number; minLearningRate: number };
  /** Training threads: 1, or 2 to compute half of every batch in a worker thread (one wasm core each). Default 1. */
  threads?: number;
  /** Stop after this many epochs without a validation-loss improvement. */
  earlyStoppingPatience?: number;
  resume?: boolean;
  /** With `resume`: continue at this learning rate instead of the checkpoint's (e.g. a final low-rate phase). */
  resumeLearningRate?: number;
  backend: string;
  /** Model name for the card (default "<architecture>-<dataset>"). */
  name?: string;
  signal?: AbortSignal;
  /** Minimum milliseconds between two 'progress' events. */
  progressIntervalMs?: number;
}

export type LearningRateSchedule = 'plateau' | 'one-cycle';

/** One-cycle rate at optimisation step `step` (0-based) of `total`: linear warm-up, then half a cosine down to 0. */
export function oneCycleLearningRate(step: number, total: number, warmup: number, peak: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup + 1) / Math.max(1, total - warmup));
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}

export type TrainEvent =
  | { type: 'start'; epochs: number; startEpoch: number; trainCount: number; validationCount: number; params: number; macsPerImage: number }
  | { type: 'progress'; epoch: number; epochs: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number; etaSeconds: number }
  | { type: 'epoch'; record: EpochRecord; improved: boolean }
  | { type: 'checkpoint'; dir: string; epoch: number }
  | { type: 'learning-rate'; from: number; to: number }
  | { type: 'early-stop'; epoch: number }
  | { type: 'done'; card: ModelCard; cancelled: boolean };

/** What resuming needs, written atomically after each epoch. */
interface CheckpointState {
  format: 'xai-lens-checkpoint/1';
  architecture: string;
  datasetHash: string;
  epoch: number;
  learningRate: number;
  bestValLoss: number;
  epochsSinceImprovement: number;
  epochsSinceLrChange: number;
  history: EpochRecord[];
  seconds: number;
  optimizerFile: string;
  optimizerWeights: { name: string; shape: number[] }[];
}

const CHECKPOINT_JSON = 'checkpoint.json';
const METRICS_JSON = 'metrics.json';

export const DEFAULT_AUGMENTATION: AugmentationOptions = { rotationDeg: 12, translatePx: 2, elastic: { alpha: 8, sigma: 3, probability: 0.3 } };

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // tfjs keeps the rate in a protected field that applyGradients reads each step; there is no public setter.
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

async function saveOptimizer(optimizer: tf.Optimizer, dir: string): Promise<Pick<CheckpointState, 'optimizerFile' | 'optimizerWeights'>> {
  const weights = await optimizer.getWeights();
  const parts = await Promise.all(weights.map((w) => w.tensor.data()));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    buf.set(p as Float32Array, off);
    off += p.length;
  }
  const optimizerFile = 'optimizer.bin';
  await writeFileAtomic(join(dir, optimizerFile), new Uint8Array(buf.buffer));
  return { optimizerFile, optimizerWeights: weights.map((w) => ({ name: w.name, shape: w.tensor.shape })) };
}

async function loadOptimizer(optimizer: tf.Optimizer, dir: string, state: CheckpointState): Promise<void> {
  const bytes = await fs.readFile(join(dir, state.optimizerFile));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let off = 0;
  const named = state.optimizerWeights.map((w) => {
    const size = w.shape.reduce((a, d) => a * d, 1);
    const t = tf.tensor(all.subarray(off, off + size), w.shape);
    off += size;
    return { name: w.name, tensor: t };
  });
  if (off !== all.length) throw new XaiLensError(`optimizer state has ${all.length} values, checkpoint.json describes ${off}`, dir);
  await optimizer.setWeights(named);
  named.forEach((w) => w.tensor.dispose());
}

function gatherBatch(ds: ImageDataset, order: Int32Array, start: number, n: number, out: Float32Array, labels: Int32Array): void {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  for (let i = 0; i < n; i++) {
    const idx = order[start + i];
    out.set(ds.images.subarray(idx * per, (idx + 1) * per), i * per);
    labels[i] = ds.labels[idx];
  }
}

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

export async function* train(opts: TrainOptions): AsyncGenerator<TrainEvent> {
  const batchSize = opts.batchSize ?? 128;
  const initialLr = opts.learningRate ?? 2e-3;
  const seed = opts.seed ?? 1;
  const plateau = opts.plateau ?? { factor: 0.3, patience: 1, minLearningRate: 1e-5 };
  const schedule = opts.schedule ?? 'plateau';
  const warmupEpochs = opts.warmupEpochs ?? 1;
  const threads = opts.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new XaiLensError(`threads must be 1 or 2, got ${threads}`);
  const patience = opts.earlyStoppingPatience ?? 4;
  const augmentation = opts.augmentation === false ? undefined : (opts.augmentation ?? DEFAULT_AUGMENTATION);
  const interval = opts.progressIntervalMs ?? 500;
  const { train: trainDs, validation } = opts;
  const arch = getArchitecture(opts.architecture);
  const [h, w, c] = trainDs.shape;
  const per = h * w * c;

  let model: tf.LayersModel;
  let state: CheckpointState | undefined;
  const checkpointPath = join(opts.outDir, CHECKPOINT_JSON);
  if (opts.resume) {
    if (!existsSync(checkpointPath)) throw new XaiLensError('cannot resume: no checkpoint.json in the run folder', opts.outDir);
    state = JSON.parse(await fs.readFile(checkpointPath, 'utf8')) as CheckpointState;
    if (state.architecture !== arch.id) {
      throw new XaiLensError(`cannot resume: the run trained "${state.architecture}", not "${arch.id}"`, opts.outDir);
    }
    if (state.datasetHash !== trainDs.hash) {
      throw new XaiLensError('cannot resume: the training data differs from the run\'s (dataset hash mismatch)', opts.outDir);
    }
    model = await loadModel(opts.outDir);
  } else {
    model = arch.build({ inputShape: trainDs.shape, numClasses: trainDs.numClasses, options: opts.modelOptions, seed });
  }
  const startLr = state ? (opts.resumeLearningRate ?? state.learningRate) : initialLr;
  const optimizer = tf.train.adam(startLr);
  // Adam matches its slots to gradients by position, and both follow the model's weight order.
  if (state) await loadOptimizer(optimizer, opts.outDir, state);

  const params = model.countParams();
  const macsPerImage = countMacs(model);
  const history: EpochRecord[] = state ? [...state.history] : [];
  let lr = startLr;
  let bestValLoss = state?.bestValLoss ?? Infinity;
  let sinceImprovement = state?.epochsSinceImprovement ?? 0;
  let sinceLrChange = state?.epochsSinceLrChange ?? 0;
  let seconds = state?.seconds ?? 0;
  const startEpoch = (state?.epoch ?? 0) + 1;
  const augmenter = augmentation ? new Augmenter({ ...augmentation, seed: seed * 7919 + startEpoch }) : undefined;
  yield { type: 'start', epochs: opts.epochs, startEpoch, trainCount: trainDs.count, validationCount: validation.count, params, macsPerImage };

  const batches = Math.ceil(trainDs.count / batchSize);
  // One-cycle rates follow the global step, so a resumed run continues on the same curve.
  const cycleRate = (epoch: number, b: number) =>
    oneCycleLearningRate((epoch - 1) * batches + b, opts.epochs * batches, warmupEpochs * batches, initialLr);
  const batchImages = new Float32Array(batchSize * per);
  const batchLabels = new Int32Array(batchSize);
  let cancelled = false;
  let completed = false;
  let stoppedEarly = false;

  // Started here, right before the try that closes it: a live worker thread would keep the process running.
  const peer = threads === 2 ? await Replica.start(model, activeBackend()?.name ?? 'wasm', trainDs.shape, trainDs.numClasses) : undefined;
  // Validation and test images go through both threads when there are two (the replica receives each model's weights).
  const evaluate = async (m: tf.LayersModel, ds: ImageDataset) =>
    peer ? evaluateProbabilities(await predictInTwoThreads(m, ds, 512, peer), ds.labels, ds.numClasses) : evaluateModel(m, ds, 512);
  let saved = model;
  let testEval: Awaited<ReturnType<typeof evaluate>> | undefined;
  try {
    const step = peer
      ? createParallelTrainStep(model, optimizer, trainDs.shape, trainDs.numClasses, peer)
      : createTrainStep(model, optimizer, trainDs.shape, trainDs.numClasses);
    for (let epoch = startEpoch; epoch <= opts.epochs && !cancelled; epoch++) {
      const order = permutation(trainDs.count, seed * 1000003 + epoch);
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lastReport = 0;
      for (let b = 0; b < batches; b++) {
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        const n = Math.min(batchSize, trainDs.count - b * batchSize);
        gatherBatch(trainDs, order, b * batchSize, n, batchImages, batchLabels);
        let images: Float32Array = batchImages.subarray(0, n * per);
        if (augmenter) images = augmenter.apply(images, n, h, w, c);
        if (schedule === 'one-cycle') setLearningRate(optimizer, (lr = cycleRate(epoch, b)));
        const [batchLoss, batchCorrect] = await step(images, batchLabels.subarray(0, n), n);
        lossSum += batchLoss * n;
        correct += batchCorrect;
        seen += n;
        // Yield to the event loop now and then so that Ctrl-C and RPC messages get through.
        const now = performance.now();
        if (now - lastReport >= interval || b === batches - 1) {
          lastReport = now;
          const ips = seen / ((now - t0) / 1000);
          const remaining = (batches - b - 1) * batchSize + (opts.epochs - epoch) * trainDs.count;
          yield { type: 'progress', epoch, epochs: opts.epochs, batch: b + 1, batches, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: ips, etaSeconds: remaining / ips };
          await new Promise((r) => setImmediate(r));
        }
      }
      if (cancelled) break;
      const trainSeconds = (performance.now() - t0) / 1000;
      const val = await evaluate(model, validation);
      const epochSeconds = (performance.now() - t0) / 1000;
      seconds += epochSeconds;
      const improved = val.loss < bestValLoss - 1e-4;
      if (improved) {
        bestValLoss = val.loss;
        sinceImprovement = 0;
        sinceLrChange = 0;
      } else {
        sinceImprovement++;
        sinceLrChange++;
      }
      const record: EpochRecord = {
        epoch, learningRate: lr, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
        valLoss: val.loss, valAccuracy: val.accuracy, seconds: epochSeconds, imagesPerSecond: seen / trainSeconds,
        augmentation: augmentation ? { ...augmentation } : null,
      };
      history.push(record);
      yield { type: 'epoch', record, improved };
      if (schedule === 'plateau' && sinceLrChange >= plateau.patience && lr > plateau.minLearningRate) {
        const next = Math.max(plateau.minLearningRate, lr * plateau.factor);
        yield { type: 'learning-rate', from: lr, to: next };
        lr = next;
        setLearningRate(optimizer, lr);
        sinceLrChange = 0;
      }
      // Checkpoint: model files, optimizer state, then checkpoint.json last (it names what a resume reads).
      await saveModel(model, opts.outDir);
      const opt = await saveOptimizer(optimizer, opts.outDir);
      const ckpt: CheckpointState = {
        format: 'xai-lens-checkpoint/1', architecture: arch.id, datasetHash: trainDs.hash, epoch, learningRate: lr,
        bestValLoss, epochsSinceImprovement: sinceImprovement, epochsSinceLrChange: sinceLrChange, history, seconds, ...opt,
      };
      await writeJsonAtomic(join(opts.outDir, METRICS_JSON), history);
      await writeJsonAtomic(checkpointPath, ckpt);
      yield { type: 'checkpoint', dir: opts.outDir, epoch };
      if (epoch === opts.epochs) completed = true;
      if (sinceImprovement >= patience) {
        stoppedEarly = true;
        completed = true;
        yield { type: 'early-stop', epoch };
        break;
      }
    }
    // The card describes the model on disk (the last complete epoch), so evaluate that one.
    if (history.length) saved = await loadModel(opts.outDir);
    if (opts.test && history.length) testEval = await evaluate(saved, opts.test);
  } finally {
    await peer?.close();
  }
  if (startEpoch > opts.epochs) completed = true;
  const last = history[history.length - 1];
  // A resumed run may have changed the rate (--resume --lr); the history, not this session's options, says what ran.
  const rates: string[] = [];
  for (const h of history) {
    const r = h.learningRate.toExponential(1);
    const lastRun = rates[rates.length - 1];
    if (lastRun?.startsWith(`${r}×`)) rates[rates.length - 1] = `${r}×${Number(lastRun.split('×')[1]) + 1}`;
    else rates.push(`${r}×1`);
  }
  const card: ModelCard = {
    format: 'xai-lens-model-card/1',
    name: opts.name ?? `${arch.id}-${basename(opts.dataSpec).replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`,
    architecture: arch.id,
    architectureOptions: resolveOptions(arch.options, opts.modelOptions, arch.id),
    inputShape: trainDs.shape,
    classNames: trainDs.classNames,
    params,
    macsPerImage,
    preprocessing: { range: [0, 1], background: /mnist/i.test(trainDs.name) ? 'dark' : 'any' },
    dataset: { spec: opts.dataSpec, name: trainDs.name, hash: trainDs.hash, train: trainDs.count, validation: validation.count, test: opts.test?.count ?? 0 },
    training: {
      epochs: history.length, batchSize, optimizer: 'adam',
      initialLearningRate: schedule === 'one-cycle' ? initialLr : (history[0]?.learningRate ?? initialLr),
      schedule:
        schedule === 'one-cycle'
          ? `one-cycle(peak=${initialLr}, warm-up=${warmupEpochs} epoch, cosine to 0 at epoch ${opts.epochs})${stoppedEarly ? ', early-stopped' : ''}`
          : `reduce-lr-on-plateau(factor=${plateau.factor}, patience=${plateau.patience})${stoppedEarly ? ', early-stopped' : ''}` +
            (rates.length ? `; learning rate × epochs: ${rates.join(', ')}` : ''),
      threads,
      augmentation: augmentation ? { ...augmentation } : {}, seed, backend: opts.backend,
      seconds, imagesPerSecond: seconds ? (history.length * trainDs.count) / seconds : 0, completed,
    },
    metrics: { testAccuracy: testEval?.accuracy, testLoss: testEval?.loss, validationAccuracy: last?.valAccuracy, validationLoss: last?.valLoss },
    createdAt: new Date().toISOString(),
  };
  if (history.length) await writeModelCard(opts.outDir, card);
  if (saved !== model) saved.dispose();
  model.dispose();
  optimizer.dispose();
  yield { type: 'done', card, cancelled };
}
