/**
 * Everything a run needs before its first batch: the model (built from the zoo, given by the caller, or loaded from the
 * run folder on resume), the checkpoint it resumes from, and which layers train in which epochs.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { getArchitecture } from '../models/zoo';
import { loadModel } from '../io/modelFolder';
import { readCheckpoint, type CheckpointState } from './checkpoint';
import type { TrainOptions } from './trainer';

export interface PreparedModel {
  model: tf.LayersModel;
  /** The checkpoint of a resumed run. */
  state?: CheckpointState;
}

export async function prepareModel(opts: TrainOptions): Promise<PreparedModel> {
  if (opts.resume) {
    const state = await readCheckpoint(opts.outDir, opts.model ? opts.architecture : getArchitecture(opts.architecture).id, opts.train.hash);
    opts.model?.dispose();
    return { model: await loadModel(opts.outDir), state };
  }
  if (opts.model) return { model: opts.model };
  const arch = getArchitecture(opts.architecture);
  return { model: arch.build({ inputShape: opts.train.shape, numClasses: opts.train.numClasses, options: opts.modelOptions, seed: opts.seed ?? 1 }) };
}

/** Layer freezing of a run: `layers` keep their weights through epoch `untilEpoch` (all epochs when absent). */
export interface FreezePlan {
  layers: string[];
  untilEpoch?: number;
}

/** The layers frozen in `epoch` (sorted names; empty when all train). */
export function frozenAt(plan: FreezePlan | undefined, epoch: number): string[] {
  if (!plan || (plan.untilEpoch !== undefined && epoch > plan.untilEpoch)) return [];
  return [...plan.layers].sort();
}

/** Sets every layer's `trainable` flag: the named ones off, all others on. */
export function applyFreeze(model: tf.LayersModel, frozen: readonly string[]): void {
  const names = new Set(frozen);
  for (const name of names) {
    if (!model.layers.some((l) => l.name === name)) throw new XaiLensError(`cannot freeze layer "${name}": the model has no such layer`);
  }
  for (const layer of model.layers) layer.trainable = !names.has(layer.name);
  if (model.trainableWeights.length === 0) throw new XaiLensError('every layer is frozen: nothing left to train');
}

export function createOptimizer(learningRate: number): tf.Optimizer {
  return tf.train.adam(learningRate);
}
