/**
 * A run folder's checkpoint: the model files, the optimizer's slots (optimizer.bin) and checkpoint.json, which names
 * what a resume reads and is written last, each file atomically. metrics.json (one record per epoch) sits beside it.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs, existsSync } from 'node:fs';
import { join } from 'node:path';
import { XaiLensError } from '../errors';
import { saveModel } from '../io/modelFolder';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomicFs';
import type { EpochRecord } from '../modelCard';
import type { ScheduleState } from './schedule';

export interface CheckpointState extends ScheduleState {
  format: 'xai-lens-checkpoint/1';
  architecture: string;
  datasetHash: string;
  epoch: number;
  history: EpochRecord[];
  seconds: number;
  optimizerFile: string;
  optimizerWeights: { name: string; shape: number[] }[];
}

export const CHECKPOINT_JSON = 'checkpoint.json';
export const METRICS_JSON = 'metrics.json';
const OPTIMIZER_BIN = 'optimizer.bin';

/** The checkpoint a resume continues from, checked against the run being resumed. */
export async function readCheckpoint(dir: string, architecture: string, datasetHash: string): Promise<CheckpointState> {
  const path = join(dir, CHECKPOINT_JSON);
  if (!existsSync(path)) throw new XaiLensError('cannot resume: no checkpoint.json in the run folder', dir);
  let state: CheckpointState;
  try {
    state = JSON.parse(await fs.readFile(path, 'utf8')) as CheckpointState;
  } catch (e) {
    throw new XaiLensError(`cannot resume: checkpoint.json is not valid JSON (${(e as Error).message})`, dir);
  }
  if (state.architecture !== architecture) {
    throw new XaiLensError(`cannot resume: the run trained "${state.architecture}", not "${architecture}"`, dir);
  }
  if (state.datasetHash !== datasetHash) {
    throw new XaiLensError('cannot resume: the training data differs from the run\'s (dataset hash mismatch)', dir);
  }
  return state;
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
  await writeFileAtomic(join(dir, OPTIMIZER_BIN), new Uint8Array(buf.buffer));
  return { optimizerFile: OPTIMIZER_BIN, optimizerWeights: weights.map((w) => ({ name: w.name, shape: w.tensor.shape })) };
}

/** Restores the optimizer's slots. Adam matches them to gradients by position, and both follow the model's weight order. */
export async function loadOptimizer(optimizer: tf.Optimizer, dir: string, state: CheckpointState): Promise<void> {
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

/** Model files, optimizer state, metrics.json, then checkpoint.json last. */
export async function writeCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: Omit<CheckpointState, 'format' | 'optimizerFile' | 'optimizerWeights'>,
): Promise<void> {
  await saveModel(model, dir);
  const opt = await saveOptimizer(optimizer, dir);
  const ckpt: CheckpointState = { format: 'xai-lens-checkpoint/1', ...state, ...opt };
  await writeJsonAtomic(join(dir, METRICS_JSON), state.history);
  await writeJsonAtomic(join(dir, CHECKPOINT_JSON), ckpt);
}
