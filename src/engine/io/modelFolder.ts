/**
 * Model folders in the TensorFlow.js layers format (model.json + weight files), plus this project's model card.
 * Saving is atomic as a whole: weights go to a content-named file first, model.json (which names that file) is
 * renamed into place last, and only then are older weight files removed, so a reader always sees a complete model.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { XaiLensError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from './atomicFs';
import type { ModelCard } from '../modelCard';
// Registers the custom layers so that saved models using them deserialize.
import '../models/layers/attention';

export const MODEL_JSON = 'model.json';
export const MODEL_CARD_JSON = 'model-card.json';

function concatBuffers(parts: ArrayBuffer[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(Array.isArray(data) ? concatBuffers(data) : data);
}

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const bytes = weightBytes(artifacts.weightData);
      const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
      const weightsFile = `weights-${hash}.bin`;
      await writeFileAtomic(join(dir, weightsFile), bytes);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeJsonAtomic(join(dir, MODEL_JSON), modelJson);
      for (const f of await fs.readdir(dir)) {
        if (/^weights-[0-9a-f]+\.bin$/.test(f) && f !== weightsFile) await fs.rm(join(dir, f), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
}

/** Reads a layers-format model folder into artifacts, with errors that name the folder and what is wrong. */
export async function readModelArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new XaiLensError('model folder not found', dir);
  if (!statSync(root).isDirectory()) throw new XaiLensError('not a model folder (expected a folder holding model.json)', dir);
  const jsonPath = join(root, MODEL_JSON);
  if (!existsSync(jsonPath)) throw new XaiLensError('not a model folder: model.json is missing', dir);
  let json: ModelJson;
  try {
    json = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as ModelJson;
  } catch (e) {
    throw new XaiLensError(`model.json is not valid JSON (${(e as Error).message})`, dir);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new XaiLensError('model.json is not a TensorFlow.js layers model (modelTopology or weightsManifest missing)', dir);
  }
  if (json.format && json.format !== 'layers-model') {
    throw new XaiLensError(`model.json has format "${json.format}"; only "layers-model" folders can be loaded`, dir);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(root, p);
      if (!existsSync(file)) throw new XaiLensError(`weight file "${p}" named in model.json is missing`, dir);
      const b = await fs.readFile(file);
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
  }
  const weightData = concatBuffers(buffers);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1) * (s.dtype === 'float32' || s.dtype === 'int32' ? 4 : 1), 0);
  if (!specs.some((s) => s.quantization) && expected !== weightData.byteLength) {
    throw new XaiLensError(`weight files hold ${weightData.byteLength} bytes but model.json describes ${expected}`, dir);
  }
  return { modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs: specs, weightData, format: json.format };
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const artifacts = await readModelArtifacts(dir);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new XaiLensError(`cannot build the model from model.json: ${(e as Error).message.split('\n')[0]}`, dir);
  }
}

export async function readModelCard(dir: string): Promise<ModelCard | undefined> {
  const p = join(dir, MODEL_CARD_JSON);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(await fs.readFile(p, 'utf8')) as ModelCard;
  } catch (e) {
    throw new XaiLensError(`model-card.json is not valid JSON (${(e as Error).message})`, dir);
  }
}

export async function writeModelCard(dir: string, card: ModelCard): Promise<void> {
  await writeJsonAtomic(join(dir, MODEL_CARD_JSON), card);
}
