/** Shared pieces of the CLI commands: output streams, model resolution, backend start-up. */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { importModel, type ImportedModel } from '../io/modelFormats';
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
  /** The model file or folder. */
  dir: string;
  model: tf.LayersModel;
  card?: ModelCard;
  inputShape: [number, number, number];
  numClasses: number;
  imported: ImportedModel;
}

export function resolveModelDir(flag: string | undefined): string {
  return !flag || flag === 'default' ? defaultModelDir() : flag;
}

/** Loads the model named by --model (any supported format; see io/modelFormats.ts). */
export async function loadModelFolder(flag: string | undefined, allowLarge = false): Promise<LoadedModel> {
  const imported = await importModel(resolveModelDir(flag), { allowLarge });
  return { dir: imported.path, model: imported.model, card: imported.card, inputShape: imported.inputShape, numClasses: imported.numClasses, imported };
}
