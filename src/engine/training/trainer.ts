/**
 * The training loop: Adam, ReduceLROnPlateau on validation loss or a one-cycle schedule, early stopping, validation
 * every epoch, optionally two threads (../parallel/replica.ts), a checkpoint (model + optimizer + state) after every
 * epoch, resumable from its run folder. Progress is an async iterable of events that the CLI, the extension's task
 * terminal and tests consume; an AbortSignal cancels between batches and keeps the last complete epoch's checkpoint.
 *
 * `train()` strings the phases together; each lives in its own file: prepare.ts (model, resume state, freezing),
 * schedule.ts (learning-rate policy, early-stopping counters), epochLoop.ts (batches of one epoch), validation.ts
 * (metrics, confusion matrix, sample strip), checkpoint.ts (run folder) and card.ts (model card).
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { resolveOptions } from '../options';
import { getArchitecture } from '../models/zoo';
import { fitBatch, modelCost } from '../explain/budget';
import { loadModel, writeModelCard } from '../io/modelFolder';
import { predictProbabilities } from '../inference';
import { activeBackend } from '../backend/backends';
import { Augmenter } from '../data/augment';
import type { ImageDataset } from '../data/datasets';
import type { EpochRecord, ModelCard } from '../modelCard';
import { Replica, createParallelTrainStep, predictInTwoThreads } from '../parallel/replica';
import { buildModelCard } from './card';
import { loadOptimizer, writeCheckpoint } from './checkpoint';
import { createTrainStep, runEpoch, setLearningRate, type EpochProgress, type EpochTotals, type TrainStep } from './epochLoop';
import { applyFreeze, createOptimizer, frozenAt, prepareModel, type FreezePlan } from './prepare';
import { LearningRatePolicy, type LearningRateSchedule, type PlateauOptions } from './schedule';
import { validationReport, validationSamples, type SamplePrediction, type ValidationSample } from './validation';

export { createTrainStep } from './epochLoop';
export { oneCycleLearningRate, type LearningRateSchedule } from './schedule';
export type { FreezePlan } from './prepare';

export interface AugmentationOptions {
  rotationDeg?: number;
  translatePx?: number;
  elastic?: { alpha: number; sigma: number; probability?: number };
}

export interface TrainOptions {
  /** A zoo architecture id; with `model`, the name recorded for the run (checked on resume). */
  architecture: string;
  /**
   * Train this model instead of building `architecture` (fine-tuning). The run takes ownership and disposes it. It must
   * end in a `logits` layer and a softmax, as zoo models do.
   */
  model?: tf.LayersModel;
  /** Layers that keep their weights, for all epochs or up to one (a fine-tune's head-first phase). */
  freeze?: FreezePlan;
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
  plateau?: PlateauOptions;
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
  /** Fields added to the model card (a fine-tune's base model and recipe). */
  card?: Partial<ModelCard>;
  signal?: AbortSignal;
  /** Minimum milliseconds between two 'progress' events. */
  progressIntervalMs?: number;
}

export type TrainEvent =
  | {
      type: 'start'; epochs: number; startEpoch: number; trainCount: number; validationCount: number; params: number; macsPerImage: number;
      /** Class names, index = label. */
      classNames: string[];
      /** The validation images whose predictions every 'epoch' event reports. */
      samples: ValidationSample[];
      /** What the run adapted (e.g. a batch cut to fit the memory budget), one line each. */
      notes?: string[];
    }
  | EpochProgress
  | {
      type: 'epoch'; record: EpochRecord; improved: boolean;
      /** confusion[true][predicted] over the validation set after this epoch. */
      confusion: number[][];
      /** Predictions for the 'start' event's samples, same order. */
      samples: SamplePrediction[];
      /** Layers that did not train in this epoch (a fine-tune's head-first phase); omitted when all trained. */
      frozen?: number;
    }
  | { type: 'checkpoint'; dir: string; epoch: number }
  | { type: 'learning-rate'; from: number; to: number }
  | { type: 'early-stop'; epoch: number }
  | { type: 'done'; card: ModelCard; cancelled: boolean };

export const DEFAULT_AUGMENTATION: AugmentationOptions = { rotationDeg: 12, translatePx: 2, elastic: { alpha: 8, sigma: 3, probability: 0.3 } };

export async function* train(opts: TrainOptions): AsyncGenerator<TrainEvent> {
  const requestedBatch = opts.batchSize ?? 128;
  const initialLr = opts.learningRate ?? 2e-3;
  const seed = opts.seed ?? 1;
  const plateau = opts.plateau ?? { factor: 0.3, patience: 1, minLearningRate: 1e-5 };
  const schedule = opts.schedule ?? 'plateau';
  const warmupEpochs = opts.warmupEpochs ?? 1;
  const threads = opts.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new XaiLensError(`threads must be 1 or 2, got ${threads}`);
  const patience = opts.earlyStoppingPatience ?? 4;
  const augmentation = opts.augmentation === false ? undefined : (opts.augmentation ?? DEFAULT_AUGMENTATION);
  const { train: trainDs, validation } = opts;
  const [h, w, c] = trainDs.shape;

  // Prepare: model, resume state, optimizer.
  const { model, state } = await prepareModel(opts);
  const archId = opts.model ? opts.architecture : getArchitecture(opts.architecture).id;
  const startEpoch = (state?.epoch ?? 0) + 1;
  let frozen = frozenAt(opts.freeze, startEpoch);
  applyFreeze(model, frozen);
  const startLr = state ? (opts.resumeLearningRate ?? state.learningRate) : initialLr;
  let optimizer = createOptimizer(startLr);
  if (state) await loadOptimizer(optimizer, opts.outDir, state);
  const params = model.countParams();
  const cost = modelCost(model);
  const macsPerImage = cost.macs;
  // A batch whose activations do not fit the wasm heap aborts the whole process (no catch recovers it): train with
  // the largest batch that fits instead, and say so.
  const fit = fitBatch(cost, requestedBatch, 'training');
  const batchSize = fit.batch;
  const history: EpochRecord[] = state ? [...state.history] : [];
  let seconds = state?.seconds ?? 0;

  // Schedule.
  const batches = Math.ceil(trainDs.count / batchSize);
  const policy = new LearningRatePolicy({
    schedule, peakLearningRate: initialLr, startLearningRate: startLr, epochs: opts.epochs, batchesPerEpoch: batches, warmupEpochs, plateau,
    resumed: state,
  });
  const augmenter = augmentation ? new Augmenter({ ...augmentation, seed: seed * 7919 + startEpoch }) : undefined;
  yield {
    type: 'start', epochs: opts.epochs, startEpoch, trainCount: trainDs.count, validationCount: validation.count, params, macsPerImage,
    classNames: trainDs.classNames, samples: validationSamples(validation), ...(fit.note ? { notes: [fit.note] } : {}),
  };

  const buffers = { images: new Float32Array(batchSize * h * w * c), labels: new Int32Array(batchSize) };
  let cancelled = false;
  let completed = false;
  let stoppedEarly = false;
  // Started right before the try that closes it: a live worker thread would keep the process running.
  const startPeer = () => (threads === 2 ? Replica.start(model, activeBackend()?.name ?? 'wasm', trainDs.shape, trainDs.numClasses) : Promise.resolve(undefined));
  let peer = await startPeer();
  // Validation and test images go through both threads when there are two (the replica receives each model's weights).
  const predict = async (m: tf.LayersModel, ds: ImageDataset) => (peer ? predictInTwoThreads(m, ds, 512, peer) : predictProbabilities(m, ds, 512));
  const makeStep = (): TrainStep =>
    peer ? createParallelTrainStep(model, optimizer, trainDs.shape, trainDs.numClasses, peer) : createTrainStep(model, optimizer, trainDs.shape, trainDs.numClasses);
  let saved = model;
  let testEval: { accuracy: number; loss: number } | undefined;
  try {
    let step = makeStep();
    // Epoch loop.
    for (let epoch = startEpoch; epoch <= opts.epochs && !cancelled; epoch++) {
      const nowFrozen = frozenAt(opts.freeze, epoch);
      if (nowFrozen.join() !== frozen.join()) {
        // Unfreezing changes the trained variables: Adam keeps its slots by position, so it starts afresh (as Keras
        // users recompile), and a second thread is rebuilt from the new topology.
        frozen = nowFrozen;
        applyFreeze(model, frozen);
        optimizer.dispose();
        optimizer = createOptimizer(policy.learningRate);
        if (peer) {
          await peer.close();
          peer = await startPeer();
        }
        step = makeStep();
      }
      const epochRun = runEpoch({
        epoch, epochs: opts.epochs, train: trainDs, batchSize, seed, step, optimizer, policy, augmenter, signal: opts.signal,
        progressIntervalMs: opts.progressIntervalMs ?? 500, buffers,
      });
      let totals: EpochTotals;
      for (;;) {
        const next = await epochRun.next();
        if (next.done) {
          totals = next.value;
          break;
        }
        yield next.value;
      }
      if (totals.cancelled) {
        cancelled = true;
        break;
      }
      const val = validationReport(await predict(model, validation), validation);
      const epochSeconds = (performance.now() - totals.startedAt) / 1000;
      seconds += epochSeconds;
      const improved = policy.observe(val.loss);
      const record: EpochRecord = {
        epoch, learningRate: policy.learningRate, trainLoss: totals.lossSum / totals.seen, trainAccuracy: totals.correct / totals.seen,
        valLoss: val.loss, valAccuracy: val.accuracy, seconds: epochSeconds, imagesPerSecond: totals.seen / totals.trainSeconds,
        augmentation: augmentation ? { ...augmentation } : null,
      };
      history.push(record);
      yield { type: 'epoch', record, improved, confusion: val.confusion, samples: val.samples, ...(frozen.length ? { frozen: frozen.length } : {}) };
      const drop = policy.plateauStep();
      if (drop) {
        yield { type: 'learning-rate', ...drop };
        setLearningRate(optimizer, drop.to);
      }
      // Checkpoint.
      await writeCheckpoint(opts.outDir, model, optimizer, { architecture: archId, datasetHash: trainDs.hash, epoch, ...policy.state(), history, seconds });
      yield { type: 'checkpoint', dir: opts.outDir, epoch };
      if (epoch === opts.epochs) completed = true;
      if (policy.epochsSinceImprovement >= patience) {
        stoppedEarly = true;
        completed = true;
        yield { type: 'early-stop', epoch };
        break;
      }
    }
    // The card describes the model on disk (the last complete epoch), so evaluate that one.
    if (history.length) saved = await loadModel(opts.outDir);
    if (opts.test && history.length) testEval = validationReport(await predict(saved, opts.test), opts.test);
  } finally {
    await peer?.close();
  }
  if (startEpoch > opts.epochs) completed = true;

  // Card.
  const card = buildModelCard({
    name: opts.name, architecture: archId,
    architectureOptions: opts.model ? undefined : resolveOptions(getArchitecture(archId).options, opts.modelOptions, archId),
    dataSpec: opts.dataSpec, train: trainDs, validationCount: validation.count, testCount: opts.test?.count ?? 0, params, macsPerImage, history,
    epochs: opts.epochs, batchSize, initialLearningRate: initialLr, schedule, warmupEpochs, plateau, stoppedEarly, threads,
    augmentation, seed, backend: opts.backend, seconds, completed, test: testEval, extra: opts.card,
  });
  if (history.length) await writeModelCard(opts.outDir, card);
  if (saved !== model) saved.dispose();
  model.dispose();
  optimizer.dispose();
  yield { type: 'done', card, cancelled };
}
