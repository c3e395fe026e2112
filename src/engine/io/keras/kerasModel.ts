/**
 * Native Keras models read in TypeScript: `.keras` (Keras 3 zip: config.json + model.weights.h5, via fflate) and
 * legacy `.h5` (root attribute model_config + group model_weights, via jsfive). The Keras config is rewritten into
 * the Keras 2 dialect tfjs-layers 4.22 reads, the model is built with tfjs-layers, and weights are assigned layer by
 * layer in Keras' documented layouts:
 * - `.keras`: `layers/<snake_case class>[_N]/vars/<i>`, N counting layers of the same class in model.layers order
 *   (a nested model's layers under its own `layers/<key>/layers/…`);
 * - `.h5`: for each layer, its group's `weight_names` attribute lists the datasets in order.
 * A layer's variables are taken in the order tfjs-layers lists them (trainable first), which is Keras' order for the
 * built-in layers and the documented contract for the attention layers (docs/models.md).
 */
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import * as hdf5 from 'jsfive';
import { GlobalPooling2DKeepDims } from './kerasLayers';
// Registers the attention layers the Keras classes map to.
import '../../models/layers/attention';
import type { Preprocessing } from '../../../shared/modelFormats';

export class KerasImportError extends Error {}

type Json = Record<string, unknown>;

export interface KerasImport {
  model: tf.LayersModel;
  kerasVersion?: string;
  classNames?: string[];
  preprocessing?: Partial<Preprocessing>;
  preprocessingNote?: string;
  notes: string[];
  architecture: string;
}

/** Keras attention layers as written in Keras → the tfjs-layers class that implements them. */
export const KERAS_ATTENTION_CLASSES: Record<string, string> = {
  SqueezeExcite: 'SqueezeExcite',
  CBAM: 'CBAM',
  PAM: 'PAM',
  GC: 'GCBlock',
  GCBlock: 'GCBlock',
};

/** Keras 3 activation names tfjs-layers knows by another name. */
const ACTIVATIONS: Record<string, string> = { silu: 'swish', swish: 'swish', hard_sigmoid: 'hard_sigmoid', gelu: 'gelu' };
const MODEL_CLASSES = new Set(['Functional', 'Model', 'Sequential']);

/** Keras' naming.to_snake_case. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function isObj(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function registered(className: string): boolean {
  const map = (tf.serialization.SerializationMap.getMap() as unknown as { classNameMap: Record<string, unknown> }).classNameMap;
  return className in map;
}

/** Keras 3 serialized objects (initializers…) as {class_name, config}; dtype policies as their dtype name. */
function plainObject(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainObject);
  if (!isObj(v)) return v;
  if (v.class_name === 'DTypePolicy' || v.class_name === 'Policy' || v.class_name === 'FloatDTypePolicy') {
    const name = (v.config as Json | undefined)?.name;
    return typeof name === 'string' && !name.startsWith('mixed') ? name : 'float32';
  }
  if ('class_name' in v && 'config' in v) return { class_name: v.class_name, config: plainObject(v.config) };
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) out[k] = plainObject(x);
  return out;
}

/** A Keras 3 inbound node ({args, kwargs} with __keras_tensor__ entries) as Keras 2's [[layer, node, tensor, {}], …]. */
function inboundNode(node: unknown, layer: string): unknown[] {
  if (Array.isArray(node)) return node; // already Keras 2
  if (!isObj(node)) throw new KerasImportError(`layer "${layer}": unreadable inbound node`);
  const refs: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObj(v) && v.class_name === '__keras_tensor__') {
      const h = (v.config as Json).keras_history as [string, number, number];
      refs.push([h[0], h[1], h[2], {}]);
    } else if (isObj(v) && !('class_name' in v)) Object.values(v).forEach(walk);
  };
  walk(node.args);
  // Tensors passed by keyword (rare in classifiers) follow the positional ones.
  walk(node.kwargs);
  return refs;
}

function ioRefs(v: unknown): unknown {
  // Keras 3 writes a single input/output as one [name, 0, 0] triple.
  return Array.isArray(v) && typeof v[0] === 'string' ? [v] : v;
}

/** One layer entry rewritten for tfjs-layers; unsupported classes fail naming the class and the layer. */
function convertLayer(entry: Json, notes: string[]): Json {
  let cls = String(entry.class_name);
  const config = plainObject(entry.config ?? {}) as Json;
  const name = String(config.name ?? entry.name ?? cls);
  if (MODEL_CLASSES.has(cls)) return convertModel({ ...entry, config }, notes, true);
  if (cls in KERAS_ATTENTION_CLASSES) cls = KERAS_ATTENTION_CLASSES[cls];
  if (cls === 'InputLayer') {
    if (config.batch_shape && !config.batch_input_shape) config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
    delete config.optional;
  }
  if ((cls === 'GlobalAveragePooling2D' || cls === 'GlobalMaxPooling2D') && config.keepdims === true) {
    config.mode = cls === 'GlobalAveragePooling2D' ? 'avg' : 'max';
    cls = GlobalPooling2DKeepDims.className;
  }
  delete config.keepdims;
  if (typeof config.activation === 'string' && config.activation in ACTIVATIONS) config.activation = ACTIVATIONS[config.activation];
  if (typeof config.groups === 'number' && config.groups !== 1) throw new KerasImportError(`layer "${name}": ${cls} with groups=${config.groups} is not supported`);
  if (config.data_format === 'channels_first') throw new KerasImportError(`layer "${name}": ${cls} with data_format channels_first is not supported`);
  for (const k of ['kernel_initializer', 'bias_initializer', 'depthwise_initializer', 'pointwise_initializer', 'beta_initializer', 'gamma_initializer',
    'moving_mean_initializer', 'moving_variance_initializer', 'kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'depthwise_regularizer',
    'pointwise_regularizer', 'beta_regularizer', 'gamma_regularizer', 'kernel_constraint', 'bias_constraint', 'depthwise_constraint', 'pointwise_constraint',
    'beta_constraint', 'gamma_constraint', 'seed']) {
    // Weights are assigned from the file, so initialisers and the like only have to be readable: defaults are.
    delete config[k];
  }
  if (!registered(cls)) throw new KerasImportError(`unsupported Keras layer class ${entry.class_name} (layer "${name}")`);
  const out: Json = { class_name: cls, config, name };
  if (entry.inbound_nodes !== undefined) out.inbound_nodes = (entry.inbound_nodes as unknown[]).map((n) => inboundNode(n, name));
  return out;
}

function convertModel(entry: Json, notes: string[], nested = false): Json {
  const cls = String(entry.class_name);
  const config = (entry.config ?? {}) as Json;
  const layers = Array.isArray(config.layers) ? (config.layers as Json[]) : [];
  const out: Json = {
    class_name: cls === 'Sequential' ? 'Sequential' : 'Model',
    config: {
      name: config.name ?? 'model',
      layers: layers.map((l) => convertLayer(l, notes)),
      ...(cls === 'Sequential' ? {} : { input_layers: ioRefs(config.input_layers), output_layers: ioRefs(config.output_layers) }),
    },
  };
  if (nested) {
    out.name = config.name;
    if (entry.inbound_nodes !== undefined) out.inbound_nodes = (entry.inbound_nodes as unknown[]).map((n) => inboundNode(n, String(config.name)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------------------

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function openH5(bytes: Uint8Array, what: string): hdf5.File {
  try {
    return new hdf5.File(toArrayBuffer(bytes), what);
  } catch (e) {
    throw new KerasImportError(`${what} is not a readable HDF5 file (truncated?): ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
}

function child(g: hdf5.Group, path: string): hdf5.Group | hdf5.Dataset | undefined {
  try {
    return g.get(path);
  } catch {
    return undefined;
  }
}

function datasetTensor(d: hdf5.Dataset, what: string): tf.Tensor {
  let values: ArrayLike<number>;
  try {
    values = d.value as ArrayLike<number>;
  } catch (e) {
    throw new KerasImportError(`weights ${what} are unreadable (truncated file?): ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  const n = d.shape.reduce((a, b) => a * b, 1);
  if (!values || values.length !== n) throw new KerasImportError(`weights ${what} hold ${values?.length ?? 0} values, their shape [${d.shape.join(', ')}] needs ${n} (truncated file?)`);
  return tf.tensor(Float32Array.from(values as ArrayLike<number>), d.shape, 'float32');
}

function assign(layer: tf.layers.Layer, tensors: tf.Tensor[], where: string): void {
  const expected = layer.weights;
  if (tensors.length !== expected.length) {
    tensors.forEach((t) => t.dispose());
    throw new KerasImportError(`layer "${layer.name}" (${layer.getClassName()}) has ${expected.length} weights but ${where} holds ${tensors.length}`);
  }
  expected.forEach((w, i) => {
    if (w.shape.join() !== tensors[i].shape.join()) {
      const got = tensors[i].shape;
      tensors.forEach((t) => t.dispose());
      throw new KerasImportError(`layer "${layer.name}" weight ${i} (${w.originalName}) has shape [${w.shape.join(', ')}] but ${where} holds [${got.join(', ')}]`);
    }
  });
  layer.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

/** .keras: variables under layers/<snake_case class>[_N]/vars, numbered per class in layer order. */
function assignKeras3(model: tf.LayersModel, configLayers: Json[], g: hdf5.Group, prefix: string): void {
  const used = new Map<string, number>();
  configLayers.forEach((entry) => {
    let key = toSnakeCase(String(entry.class_name));
    const n = used.get(key);
    used.set(key, n === undefined ? 0 : n + 1);
    if (n !== undefined) key = `${key}_${n + 1}`;
    const name = String((entry.config as Json | undefined)?.name ?? entry.name);
    const layer = model.layers.find((l) => l.name === name);
    if (!layer) return;
    const path = `${prefix}layers/${key}`;
    if (layer instanceof tf.LayersModel && MODEL_CLASSES.has(String(entry.class_name))) {
      assignKeras3(layer, ((entry.config as Json).layers as Json[]) ?? [], g, `${path}/`);
      return;
    }
    if (!layer.weights.length) return;
    const vars = child(g, `${path}/vars`) as hdf5.Group | undefined;
    if (!vars) throw new KerasImportError(`model.weights.h5 has no ${path}/vars for layer "${name}" (${entry.class_name})`);
    const tensors: tf.Tensor[] = [];
    for (let i = 0; ; i++) {
      const d = child(vars, String(i)) as hdf5.Dataset | undefined;
      if (!d) break;
      tensors.push(datasetTensor(d, `${path}/vars/${i}`));
    }
    assign(layer, tensors, `${path}/vars`);
  });
}

function strings(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : new TextDecoder().decode(x as Uint8Array)));
  if (typeof v === 'string') return [v];
  return [];
}

/** .h5: per layer group, weight_names lists its datasets in order. */
function assignH5(model: tf.LayersModel, weightsRoot: hdf5.Group): void {
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) {
      const sub = child(weightsRoot, layer.name) as hdf5.Group | undefined;
      // Keras 2 stores a nested model's weights in one group named after it, weight_names prefixed by inner layers.
      if (sub) assignNestedH5(layer, sub);
      continue;
    }
    if (!layer.weights.length) continue;
    const g = child(weightsRoot, layer.name) as hdf5.Group | undefined;
    if (!g) throw new KerasImportError(`model_weights has no group for layer "${layer.name}" (${layer.getClassName()}; truncated file?)`);
    const names = strings(g.attrs.weight_names);
    const tensors = names.map((n) => {
      const d = child(g, n) as hdf5.Dataset | undefined;
      if (!d) throw new KerasImportError(`model_weights/${layer.name} names "${n}" in weight_names but holds no such dataset`);
      return datasetTensor(d, `model_weights/${layer.name}/${n}`);
    });
    assign(layer, tensors, `model_weights/${layer.name}`);
  }
}

function assignNestedH5(model: tf.LayersModel, g: hdf5.Group): void {
  const names = strings(g.attrs.weight_names);
  for (const layer of model.layers) {
    if (!layer.weights.length) continue;
    const mine = names.filter((n) => n.startsWith(`${layer.name}/`));
    assign(layer, mine.map((n) => datasetTensor(child(g, n) as hdf5.Dataset, `${model.name}/${n}`)), `model_weights/${model.name}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------------------------

/** Rescaling / Normalization right after the input say the preprocessing is inside the model. */
function internalPreprocessing(layers: Json[]): { pre?: Partial<Preprocessing>; note?: string } {
  const first = layers.find((l) => l.class_name !== 'InputLayer');
  const cfg = (first?.config ?? {}) as Json;
  if (first?.class_name === 'Rescaling') {
    const scale = Number(cfg.scale);
    const offset = Number(cfg.offset ?? 0);
    if (Math.abs(scale - 1 / 255) < 1e-6 && offset === 0) return { pre: { range: [0, 255] }, note: 'the model starts with Rescaling(1/255): it takes values in [0, 255]' };
    if (Math.abs(scale - 1 / 127.5) < 1e-6 && offset === -1) return { pre: { range: [0, 255] }, note: 'the model starts with Rescaling(1/127.5, -1): it takes values in [0, 255]' };
  }
  return {};
}

export async function importKeras(bytes: Uint8Array, kind: 'keras' | 'keras-h5'): Promise<KerasImport> {
  let configJson: Json;
  let weights: hdf5.File;
  let kerasVersion: string | undefined;
  if (kind === 'keras') {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(bytes);
    } catch (e) {
      throw new KerasImportError(`not a readable .keras file (a zip archive; truncated?): ${(e as Error).message}`);
    }
    if (!files['config.json']) throw new KerasImportError('the .keras archive has no config.json');
    if (!files['model.weights.h5']) throw new KerasImportError('the .keras archive has no model.weights.h5');
    try {
      configJson = JSON.parse(new TextDecoder().decode(files['config.json'])) as Json;
      if (files['metadata.json']) kerasVersion = (JSON.parse(new TextDecoder().decode(files['metadata.json'])) as Json).keras_version as string;
    } catch (e) {
      throw new KerasImportError(`config.json is not valid JSON (${(e as Error).message})`);
    }
    weights = openH5(files['model.weights.h5'], 'model.weights.h5');
  } else {
    weights = openH5(bytes, 'the .h5 file');
    const raw = weights.attrs.model_config;
    if (raw === undefined) throw new KerasImportError('the .h5 file has no model_config attribute (weights only? save the whole model with model.save)');
    try {
      configJson = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array)) as Json;
    } catch (e) {
      throw new KerasImportError(`model_config is not valid JSON (${(e as Error).message})`);
    }
    kerasVersion = strings(weights.attrs.keras_version)[0];
  }
  if (!MODEL_CLASSES.has(String(configJson.class_name))) {
    throw new KerasImportError(`the saved object is a ${String(configJson.class_name)}, not a Keras model`);
  }
  const notes: string[] = [];
  const topology = convertModel(configJson, notes);
  let model: tf.LayersModel;
  try {
    model = (await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON)) as tf.LayersModel;
  } catch (e) {
    throw new KerasImportError(`cannot build the model from its Keras config: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const configLayers = ((configJson.config as Json).layers as Json[]) ?? [];
    if (kind === 'keras') assignKeras3(model, configLayers, weights, '');
    else {
      const root = child(weights, 'model_weights') as hdf5.Group | undefined;
      if (!root) throw new KerasImportError('the .h5 file has no model_weights group (truncated file?)');
      assignH5(model, root);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  const configLayers = ((configJson.config as Json).layers as Json[]) ?? [];
  const internal = internalPreprocessing(configLayers);
  return {
    model,
    kerasVersion,
    preprocessing: internal.pre,
    preprocessingNote: internal.note,
    notes: [`Keras ${kerasVersion ?? 'version unknown'} ${kind === 'keras' ? '.keras' : '.h5'} file`, ...notes],
    architecture: `Keras ${String((configJson.config as Json).name ?? 'model')}`,
  };
}
