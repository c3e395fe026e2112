/** Shared pieces of the CLI commands: output streams, model resolution, backend start-up. */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { loadModel, readModelCard } from '../io/modelFolder';
import { defaultModelDir } from '../paths';
import type { ModelCard } from '../modelCard';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  isTty: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  isTty: Boolean(process.stderr.isTTY),
};

export async function startBackend(flag: string | undefined, io: Io): Promise<BackendInfo> {
  const info = await initBackend(parseBackendChoice(flag));
  io.err(`backend: ${info.description}`);
  if (info.warning) io.err(info.warning);
  return info;
}

export interface LoadedModel {
  dir: string;
  model: tf.LayersModel;
  card?: ModelCard;
  inputShape: [number, number, number];
  numClasses: number;
}

export function resolveModelDir(flag: string | undefined): string {
  return !flag || flag === 'default' ? defaultModelDir() : flag;
}

export async function loadModelFolder(flag: string | undefined): Promise<LoadedModel> {
  const dir = resolveModelDir(flag);
  const model = await loadModel(dir);
  const card = await readModelCard(dir);
  const shape = model.inputs[0].shape.slice(1) as number[];
  const outShape = (model.outputs[0].shape as number[]).slice(1);
  return { dir, model, card, inputShape: shape as [number, number, number], numClasses: outShape[outShape.length - 1] };
}
