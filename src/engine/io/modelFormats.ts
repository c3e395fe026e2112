/**
 * Loading a model of any supported format through one entry point, `importModel(path)`. Each format of the shared
 * list (src/shared/modelFormats.ts) gets here how it is detected and loaded; all end as a tfjs-layers model that
 * takes [0, 1] RGB (or gray) pixels and outputs probabilities, so every explainer works on every format:
 * - the preprocessing the model needs (range, mean/std, channel order) is a first layer (`xai_preprocess`), so
 *   explainers, counterfactuals and displays all stay in [0, 1] pixel space;
 * - a model that outputs scores (logits) gets a softmax Activation layer; the explainers read the logits before it.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs, existsSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { XaiLensError } from '../errors';
import { MODEL_CARD_JSON, MODEL_JSON, loadModel as loadLayersFolder, readModelCard } from './modelFolder';
import { importOnnx, OnnxImportError } from './onnx/onnxModel';
import { wrapGraphModel, GraphImportError } from './tfjsGraph';
import { alphaBackground, inferPreprocessing, isIdentity, mergePreprocessing, readModelMetadata, sidecarCandidates, SIDECAR } from './modelMetadata';
import { importKeras, KerasImportError } from './keras/kerasModel';
import { LARGE_MODEL_BYTES, MODEL_FORMATS, type ModelDetails, type ModelFormatId, type Preprocessing, type SettingSource } from '../../shared/modelFormats';
import type { ModelCard } from '../modelCard';

/** What an importer hands back before preprocessing and the output are settled. */
interface RawImport {
  model: tf.LayersModel;
  /** Parameters, when the layers model cannot count them (graph models). */
  params?: number;
  classNames?: string[];
  classNamesSource?: SettingSource;
  /** Preprocessing the file itself states (XAI Lens model card, Keras Rescaling…). */
  preprocessing?: Partial<Preprocessing>;
  preprocessingSource?: SettingSource;
  preprocessingNote?: string;
  outputIsProbabilities?: boolean;
  card?: ModelCard;
  notes: string[];
  architecture?: string;
}

export interface ModelFormatLoader {
  id: ModelFormatId;
  /** Cheap: by name and, where needed, the first bytes or model.json's header. */
  detect(path: string, isFolder: boolean): boolean;
  load(path: string, isFolder: boolean, opts: ImportOptions): Promise<RawImport>;
}

export interface ImportOptions {
  /** Models over this many bytes are refused unless `allowLarge` (the extension asks the user first). */
  maxBytes?: number;
  allowLarge?: boolean;
}

export interface ImportedModel {
  model: tf.LayersModel;
  /** The file or folder loaded. */
  path: string;
  name: string;
  architecture: string;
  params: number;
  inputShape: [number, number, number];
  numClasses: number;
  classNames: string[];
  /** The XAI Lens model card, for models trained here. */
  card?: ModelCard;
  details: ModelDetails;
}

function readModelJson(path: string): { format?: string; modelTopology?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { format?: string; modelTopology?: unknown };
  } catch {
    return undefined;
  }
}

function modelJsonOf(path: string, isFolder: boolean): string | undefined {
  if (isFolder) return existsSync(join(path, MODEL_JSON)) ? join(path, MODEL_JSON) : undefined;
  return basename(path).toLowerCase().endsWith('.json') ? path : undefined;
}

function isGraphJson(json: { format?: string; modelTopology?: unknown } | undefined): boolean {
  if (!json) return false;
  if (json.format === 'graph-model') return true;
  const topo = json.modelTopology as { node?: unknown } | undefined;
  return !!topo && Array.isArray(topo.node);
}

async function readGraphModel(path: string, isFolder: boolean): Promise<tf.GraphModel> {
  const jsonPath = modelJsonOf(path, isFolder)!;
  const dir = resolve(jsonPath, '..');
  let json: { modelTopology: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; signature?: unknown; userDefinedMetadata?: Record<string, unknown>; modelInitializer?: unknown; format?: string };
  try {
    json = JSON.parse(await fs.readFile(jsonPath, 'utf8'));
  } catch (e) {
    throw new XaiLensError(`model.json is not valid JSON (${(e as Error).message})`, path);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(dir, p);
      if (!existsSync(file)) throw new XaiLensError(`weight file "${p}" named in model.json is missing`, path);
      parts.push(new Uint8Array(await fs.readFile(file)));
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  const bytesPer = (s: tf.io.WeightsManifestEntry) => (s.quantization ? (s.quantization.dtype === 'uint8' ? 1 : 2) : s.dtype === 'float32' || s.dtype === 'int32' ? 4 : 1);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1) * bytesPer(s), 0);
  if (expected > total) throw new XaiLensError(`weight files hold ${total} bytes but model.json describes ${expected} (truncated?)`, path);
  try {
    return await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData: data.buffer,
        format: json.format,
        signature: json.signature as object,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer as object,
      }),
    );
  } catch (e) {
    throw new XaiLensError(`cannot build the graph model: ${(e as Error).message.split('\n')[0]}`, path);
  }
}

/** Loaders, one per entry of MODEL_FORMATS, tried in that order. */
export const MODEL_FORMAT_LOADERS: readonly ModelFormatLoader[] = [
  {
    id: 'tfjs-layers',
    detect: (path, isFolder) => {
      const j = modelJsonOf(path, isFolder);
      return !!j && existsSync(j) && !isGraphJson(readModelJson(j));
    },
    async load(path, isFolder) {
      const dir = isFolder ? path : resolve(path, '..');
      const model = await loadLayersFolder(dir);
      const card = await readModelCard(dir);
      return {
        model,
        card,
        classNames: card?.classNames,
        classNamesSource: card ? 'model-card' : undefined,
        preprocessing: card ? { range: card.preprocessing.range, background: card.preprocessing.background, channelOrder: 'rgb' } : undefined,
        preprocessingSource: card ? 'model-card' : undefined,
        preprocessingNote: card ? `from ${MODEL_CARD_JSON} (trained by XAI Lens)` : undefined,
        architecture: card?.architecture,
        notes: [],
      };
    },
  },
  {
    id: 'tfjs-graph',
    detect: (path, isFolder) => {
      const j = modelJsonOf(path, isFolder);
      return !!j && existsSync(j) && isGraphJson(readModelJson(j));
    },
    async load(path, isFolder) {
      const gm = await readGraphModel(path, isFolder);
      const meta = readModelMetadata(path, isFolder);
      try {
        const g = wrapGraphModel(gm, basename(isFolder ? path : resolve(path, '..')), meta.sidecar?.inputShape);
        return {
          model: g.model,
          params: g.params,
          outputIsProbabilities: g.endsInSoftmax ? true : undefined,
          notes: [`graph cut into ${g.cuts + 1} segments at its 4-D articulation tensors (the CAM layer choices)`],
          architecture: 'TensorFlow.js graph',
        };
      } catch (e) {
        gm.dispose();
        if (e instanceof GraphImportError) throw new XaiLensError(e.message, path);
        throw e;
      }
    },
  },
  {
    id: 'keras',
    detect: (path, isFolder) => !isFolder && extname(path).toLowerCase() === '.keras',
    async load(path) {
      return kerasLoad(path, 'keras');
    },
  },
  {
    id: 'keras-h5',
    detect: (path, isFolder) => !isFolder && ['.h5', '.hdf5'].includes(extname(path).toLowerCase()),
    async load(path) {
      return kerasLoad(path, 'keras-h5');
    },
  },
  {
    id: 'onnx',
    detect: (path, isFolder) => !isFolder && extname(path).toLowerCase() === '.onnx',
    async load(path) {
      const bytes = new Uint8Array(await fs.readFile(path));
      try {
        const imp = importOnnx(bytes);
        return {
          model: imp.model,
          outputIsProbabilities: imp.endsInSoftmax ? true : undefined,
          notes: [
            `ONNX opset ${imp.opsetVersion}${imp.producer ? `, exported by ${imp.producer}` : ''}; input "${imp.inputName}" ${imp.inputLayout}` +
              (imp.inputLayout === 'NCHW' ? ' (run NHWC: 4-D tensors are stored channels-last)' : ''),
          ],
          architecture: `ONNX graph (${imp.ops.length} op types)`,
        };
      } catch (e) {
        if (e instanceof OnnxImportError) throw new XaiLensError(e.message, path);
        throw e;
      }
    },
  },
];

async function kerasLoad(path: string, kind: 'keras' | 'keras-h5'): Promise<RawImport> {
  try {
    const k = await importKeras(new Uint8Array(await fs.readFile(path)), kind);
    return {
      model: k.model,
      classNames: k.classNames,
      classNamesSource: k.classNames ? 'keras-config' : undefined,
      preprocessing: k.preprocessing,
      preprocessingSource: k.preprocessing ? 'keras-config' : undefined,
      preprocessingNote: k.preprocessingNote,
      notes: k.notes,
      architecture: k.architecture,
    };
  } catch (e) {
    if (e instanceof KerasImportError) throw new XaiLensError(e.message, path);
    throw e;
  }
}

/** The format of a model file or folder, or a one-line error naming what was expected. */
export function detectModelFormat(path: string): { id: ModelFormatId; path: string; isFolder: boolean } {
  const p = resolve(path);
  if (!existsSync(p)) throw new XaiLensError('model not found', path);
  let isFolder = statSync(p).isDirectory();
  let target = p;
  if (isFolder && !existsSync(join(p, MODEL_JSON))) {
    // A folder holding exactly one model file stands for that file.
    const files = readdirSync(p).filter((f) => MODEL_FORMATS.some((fmt) => fmt.id !== 'tfjs-layers' && fmt.id !== 'tfjs-graph' && fmt.extensions.includes(extname(f).toLowerCase())));
    if (files.length !== 1) {
      throw new XaiLensError(
        files.length ? `folder holds ${files.length} model files (${files.join(', ')}); name one` : `no model here: expected ${MODEL_JSON} (TensorFlow.js) or a .keras, .h5 or .onnx file`,
        path,
      );
    }
    target = join(p, files[0]);
    isFolder = false;
  }
  const loader = MODEL_FORMAT_LOADERS.find((l) => l.detect(target, isFolder));
  if (!loader) {
    throw new XaiLensError(`not a model file XAI Lens reads (supported: ${MODEL_FORMATS.map((f) => f.filePatterns.join('/')).filter((v, i, a) => a.indexOf(v) === i).join(', ')})`, path);
  }
  return { id: loader.id, path: target, isFolder };
}

function sizeOf(path: string, isFolder: boolean): number {
  if (!isFolder) return statSync(path).size;
  return readdirSync(path).reduce((n, f) => {
    const s = statSync(join(path, f));
    return n + (s.isFile() ? s.size : 0);
  }, 0);
}

/** True when the output of `model` sums to one over classes (checked on two random images). */
function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const cfg = last.getConfig() as { activation?: string };
  if (cfg.activation === 'softmax' || last.getClassName() === 'Softmax') return true;
  if (cfg.activation && cfg.activation !== 'linear') return false;
  return tf.tidy(() => {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const y = model.predict(tf.randomUniform([2, ...shape], 0, 1, 'float32', 1)) as tf.Tensor;
    const min = tf.min(y).dataSync()[0];
    const sums = tf.sum(y, -1).dataSync();
    return min >= 0 && Array.from(sums).every((s) => Math.abs(s - 1) < 1e-3);
  });
}

/** Scales [0, 1] RGB pixels to what the model was trained on. */
export class Preprocess extends tf.layers.Layer {
  static className = 'XaiLensPreprocess';
  private readonly scale: number[];
  private readonly offset: number[];

  constructor(private readonly pre: Preprocessing, private readonly channels: number) {
    super({ name: 'xai_preprocess', trainable: false });
    const [lo, hi] = pre.range;
    const c = channels;
    const pick = (v: number[] | undefined, d: number) => Array.from({ length: c }, (_, i) => (v && v.length ? v[Math.min(i, v.length - 1)] : d));
    const mean = pick(pre.mean, 0);
    const std = pick(pre.std, 1);
    // y = ((x·(hi−lo) + lo) − mean) / std, per channel (in the model's channel order).
    this.scale = std.map((s) => (hi - lo) / s);
    this.offset = mean.map((m, i) => (lo - m) / std[i]);
  }

  /** What `call` computes: the channels reversed (RGB → BGR) when `reverse`, then x·scale + offset per channel. */
  affine(): { reverse: boolean; scale: number[]; offset: number[] } {
    return { reverse: this.pre.channelOrder === 'bgr' && this.channels === 3, scale: this.scale, offset: this.offset };
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (this.affine().reverse) x = tf.reverse(x, -1);
      return tf.add(tf.mul(x, tf.tensor1d(this.scale)), tf.tensor1d(this.offset));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), range: this.pre.range, mean: this.pre.mean ?? null, std: this.pre.std ?? null, channelOrder: this.pre.channelOrder };
  }
}

/**
 * Puts the preprocessing layer in front and a softmax behind where needed. The original model is nested (its layers
 * shared); when it ends in a softmax Activation, that layer is kept last at the top level so the explainers find the
 * logits before it.
 */
function finish(model: tf.LayersModel, pre: Preprocessing | undefined, probabilities: boolean): tf.LayersModel {
  const last = model.layers[model.layers.length - 1];
  const endsInSoftmaxLayer = last.getClassName() === 'Activation' && (last.getConfig() as { activation?: string }).activation === 'softmax';
  if (!pre && probabilities) return model;
  const shape = model.inputs[0].shape.slice(1) as number[];
  const input = tf.input({ shape, name: 'xai_image' });
  let x: tf.SymbolicTensor = input;
  if (pre) x = new Preprocess(pre, shape[2]).apply(x) as tf.SymbolicTensor;
  if (endsInSoftmaxLayer) {
    const logitsTensor = last.inboundNodes[0].inputTensors[0];
    const logits = tf.model({ inputs: model.inputs, outputs: logitsTensor, name: `${model.name}_logits` });
    x = logits.apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'softmax', name: 'xai_probs' }).apply(x) as tf.SymbolicTensor;
  } else {
    x = model.apply(x) as tf.SymbolicTensor;
    if (!probabilities) x = tf.layers.activation({ activation: 'softmax', name: 'xai_probs' }).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: x, name: model.name });
}

function checkClassifier(model: tf.LayersModel, path: string): { inputShape: [number, number, number]; numClasses: number } {
  if (model.inputs.length !== 1) throw new XaiLensError(`takes ${model.inputs.length} inputs; an image classifier takes one image`, path);
  if (model.outputs.length !== 1) throw new XaiLensError(`has ${model.outputs.length} outputs; an image classifier has one (class scores)`, path);
  const inShape = model.inputs[0].shape;
  if (inShape.length !== 4) throw new XaiLensError(`input has shape [${inShape.map((d) => d ?? 'N').join(', ')}]; an image classifier takes a 4-D image batch [N, H, W, C]`, path);
  if (inShape.slice(1).some((d) => !d)) throw new XaiLensError(`input size is not fixed ([${inShape.map((d) => d ?? '?').join(', ')}]); put "inputShape": [h, w, c] in ${SIDECAR} beside the model`, path);
  const outShape = model.outputs[0].shape;
  if (outShape.length !== 2) throw new XaiLensError(`output has shape [${outShape.map((d) => d ?? 'N').join(', ')}]; an image classifier outputs [N, classes]`, path);
  const c = inShape[3]!;
  if (c !== 1 && c !== 3 && c !== 4) throw new XaiLensError(`input has ${c} channels; images have 1 (gray), 3 (RGB) or 4 (RGBA)`, path);
  return { inputShape: inShape.slice(1) as [number, number, number], numClasses: outShape[1]! };
}

/** Loads any supported model: a TF.js folder or model.json, a .keras/.h5 file, an .onnx file. */
export async function importModel(path: string, opts: ImportOptions = {}): Promise<ImportedModel> {
  const found = detectModelFormat(path);
  const fmt = MODEL_FORMATS.find((f) => f.id === found.id)!;
  const bytes = sizeOf(found.path, found.isFolder);
  const limit = opts.maxBytes ?? LARGE_MODEL_BYTES;
  if (bytes > limit && !opts.allowLarge) {
    throw new XaiLensError(`model is ${(bytes / 1024 / 1024).toFixed(0)} MB, over the ${(limit / 1024 / 1024).toFixed(0)} MB limit (allow it with --allow-large-model, or confirm in VS Code)`, path);
  }
  const meta = readModelMetadata(found.path, found.isFolder);
  const loader = MODEL_FORMAT_LOADERS.find((l) => l.id === found.id)!;
  const raw = await loader.load(found.path, found.isFolder, opts);
  try {
    const { inputShape, numClasses } = checkClassifier(raw.model, found.path);
    const name = meta.sidecar?.name ?? raw.card?.name ?? (found.isFolder ? basename(found.path) : basename(found.path).replace(/\.[^.]+$/, ''));
    // Preprocessing: sidecar over what the file says over inference from the name.
    // Keras application names are the model's own only in Keras configs (TF.js layers models keep them).
    const ownName = found.id === 'tfjs-layers' || found.id === 'keras' || found.id === 'keras-h5' ? raw.model.name : '';
    const inferred = inferPreprocessing(ownName, inputShape[2]);
    const base: Preprocessing = raw.preprocessing ? mergePreprocessing(inferred.pre, raw.preprocessing) : inferred.pre;
    const pre = mergePreprocessing(base, meta.sidecar?.preprocessing);
    const preSource: SettingSource = meta.sidecar?.preprocessing ? 'sidecar' : raw.preprocessingSource ?? inferred.source;
    const preNote = meta.sidecar?.preprocessing ? `from ${meta.sidecarPath}` : raw.preprocessingNote ?? inferred.note;
    const notes = [...raw.notes];
    const probabilities = raw.outputIsProbabilities ?? outputsProbabilities(raw.model);
    if (!probabilities) notes.push('the model outputs scores (logits); XAI Lens applies softmax for probabilities and explains the scores');
    const model = finish(raw.model, isIdentity(pre) ? undefined : pre, probabilities);
    let classNames = meta.classNames ?? raw.classNames;
    let classSource: SettingSource = meta.classNamesSource ?? raw.classNamesSource ?? 'default';
    if (classNames && classNames.length !== numClasses) {
      notes.push(`${classNames.length} class names given (${classSource}) for ${numClasses} outputs; using numbers`);
      classNames = undefined;
      classSource = 'default';
    }
    let displayNames = meta.displayNames;
    if (displayNames && displayNames.length !== numClasses) {
      notes.push(`${displayNames.length} display names given for ${numClasses} outputs; ignored`);
      displayNames = undefined;
    }
    return {
      model,
      path: found.path,
      name,
      architecture: raw.architecture ?? raw.model.name,
      params: raw.params ?? model.countParams(),
      inputShape,
      numClasses,
      classNames: classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
      card: raw.card,
      details: {
        format: found.id,
        formatLabel: fmt.label,
        path: found.path,
        preprocessing: pre,
        preprocessingSource: preSource,
        preprocessingNote: preNote,
        classNamesSource: classSource,
        displayNames,
        alphaBackground: alphaBackground(pre, inputShape[2]),
        notes,
        sidecar: { path: meta.sidecarPath ?? sidecarCandidates(found.path, found.isFolder)[0], exists: meta.sidecarPath !== undefined },
      },
    };
  } catch (e) {
    raw.model.dispose();
    throw e;
  }
}

/**
 * A TF.js layers model handed over in memory (read through the debugger from a paused program): its values go in as
 * the program's own tensors, so no preprocessing is assumed; classes are numbered.
 */
export function importedFromMemory(model: tf.LayersModel, key: string, name: string): ImportedModel {
  const { inputShape, numClasses } = checkClassifier(model, key);
  const preprocessing: Preprocessing = { range: [0, 1], channelOrder: 'rgb' };
  return {
    model, path: key, name, architecture: model.name, params: model.countParams(), inputShape, numClasses,
    classNames: Array.from({ length: numClasses }, (_, i) => String(i)),
    details: {
      format: 'tfjs-layers', formatLabel: 'TF.js layers model (read through the debugger)', path: key, preprocessing,
      preprocessingSource: 'default', preprocessingNote: 'the program\'s own values', classNamesSource: 'default',
      alphaBackground: alphaBackground(preprocessing, inputShape[2]), notes: [],
    },
  };
}
