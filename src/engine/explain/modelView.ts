/**
 * A classifier seen the way explainers need it: batched probabilities, differentiable class scores, and a probe
 * into any 4-D layer.
 *
 * The probe rebuilds the model as one flat functional graph over the same layer objects (shared weights): nested
 * models (a backbone inside a classifier) are inlined, which avoids Keras' "graph disconnected" failure when a CAM
 * layer lives inside the backbone, and the probed layer's output gets an extra additive input `delta`. The gradient of
 * a score w.r.t. `delta` at zero is the gradient w.r.t. the activations, whatever the graph after the layer looks
 * like (residual connections that bypass it included).
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { fitBatch, modelCost, nativeBatch, type ModelCost } from './budget';
import { runInBatches, type NativeForward } from '../native/nativeForward';
import { isAttentionLayer } from '../models/layers/attentionCommon';
import type { AttentionSite, ImageShape, ModelView } from './types';
import { float32View } from '../backend/tensorView';
import { flatFromTensors } from './flatProbabilities';

type Sym = tf.SymbolicTensor;

interface Hook {
  layer: string;
  delta: Sym;
}

interface Rebuilt {
  outputs: Sym[];
  /** Output of every layer by name, before any hook. */
  byName: Map<string, Sym>;
  /** First input of every (non-model) layer by name, with the layer itself: what attention maps are computed from. */
  inputsByName: Map<string, { input: Sym; layer: tf.layers.Layer }>;
}

function isModel(layer: tf.layers.Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

/** Re-applies every layer of `model` to new symbolic inputs, inlining nested models. */
function inline(model: tf.LayersModel, inputs: Sym[], hook: Hook | undefined, byName: Map<string, Sym>, inputsByName: Rebuilt['inputsByName']): Sym[] {
  const map = new Map<number, Sym>();
  model.inputs.forEach((t, i) => map.set(t.id, inputs[i]));
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of [...layer.inboundNodes]) {
      const ins = node.inputTensors;
      if (!ins.length || !ins.every((t) => map.has(t.id)) || node.outputTensors.every((t) => map.has(t.id))) continue;
      const mapped = ins.map((t) => map.get(t.id)!);
      let outs: Sym[];
      if (isModel(layer)) {
        outs = inline(layer, mapped, hook, byName, inputsByName);
      } else {
        inputsByName.set(layer.name, { input: mapped[0], layer });
        const r = layer.apply(mapped.length === 1 ? mapped[0] : mapped) as Sym | Sym[];
        outs = Array.isArray(r) ? r : [r];
      }
      byName.set(layer.name, outs[0]);
      if (hook && layer.name === hook.layer) {
        outs = [tf.layers.add({ name: `${hook.layer}__probe_delta` }).apply([outs[0], hook.delta]) as Sym, ...outs.slice(1)];
      }
      node.outputTensors.forEach((t, k) => map.set(t.id, outs[k]));
    }
  }
  return model.outputs.map((t) => {
    const out = map.get(t.id);
    if (!out) throw new XaiLensError(`cannot trace model "${model.name}": output ${t.name} is not reachable from its inputs`);
    return out;
  });
}

function rebuild(model: tf.LayersModel, image: Sym, hook?: Hook): Rebuilt {
  const byName = new Map<string, Sym>();
  const inputsByName: Rebuilt['inputsByName'] = new Map();
  const outputs = inline(model, [image], hook, byName, inputsByName);
  return { outputs, byName, inputsByName };
}

/**
 * The tensor whose softmax is the output, when the top-level model ends in a softmax Activation layer (XAI Lens
 * models: 'logits' → 'probs'). A nested model's own logits are not the outer model's.
 */
function logitsOf(model: tf.LayersModel, rebuilt: Rebuilt): Sym | undefined {
  const last = model.layers[model.layers.length - 1];
  if (last.getClassName() === 'Activation' && (last.getConfig() as { activation?: string }).activation === 'softmax') {
    const input = last.inboundNodes[0]?.inputTensors[0];
    // The last layer's input in the rebuilt graph: its producer's rebuilt output.
    const producer = input ? model.layers.find((l) => l.inboundNodes.some((n) => n.outputTensors.some((t) => t.id === input.id))) : undefined;
    return producer ? rebuilt.byName.get(producer.name) : undefined;
  }
  return undefined;
}

/** A functional model over the rebuilt graph; a layer name used at two nesting levels cannot be flattened. */
function flatModel(model: tf.LayersModel, inputs: Sym | Sym[], outputs: Sym | Sym[]): tf.LayersModel {
  try {
    return tf.model({ inputs, outputs });
  } catch (e) {
    const m = /The name "([^"]+)" is used (\d+) times/.exec((e as Error).message);
    if (m) {
      throw new XaiLensError(`model "${model.name}": layer name "${m[1]}" is used ${m[2]} times across the model and its nested models; rename one to explain it`);
    }
    throw e;
  }
}

/** The flat graph cut after one layer: `prefix` computes the layer's activations (and whatever else the rest of the
 * graph reads that was computed before them), `suffix` the output from those. */
export interface LayerSplit {
  prefix: tf.LayersModel;
  suffix: tf.LayersModel;
}

/**
 * Cuts the flat graph `flat` (one image in, one output) after `layer`, or undefined when it cannot: the layer is
 * applied twice, or the output does not depend on it. A tensor computed before the layer that a later one also reads
 * (a skip connection that bypasses it) becomes an extra input of the suffix, held fixed, as the probe's delta holds it.
 */
export function splitAt(flat: tf.LayersModel, layer: string): LayerSplit | undefined {
  const image = flat.inputs[0];
  // Every tensor of the flat graph reached so far → its stand-in in the suffix graph, or undefined when it is
  // computed before the layer.
  const reached = new Map<number, Sym | undefined>([[image.id, undefined]]);
  const cut = new Map<number, { original: Sym; input: Sym }>();
  let acts: { original: Sym; input: Sym } | undefined;
  const standIn = (t: Sym): Sym => {
    const after = reached.get(t.id);
    if (after) return after;
    let c = cut.get(t.id);
    if (!c) {
      c = { original: t, input: tf.input({ shape: t.shape.slice(1) as number[] }) };
      cut.set(t.id, c);
    }
    return c.input;
  };
  for (const l of flat.layers) {
    if (l.getClassName() === 'InputLayer') continue;
    for (const node of [...l.inboundNodes]) {
      const ins = node.inputTensors;
      if (!ins.length || !ins.every((t) => reached.has(t.id)) || node.outputTensors.every((t) => reached.has(t.id))) continue;
      if (l.name === layer) {
        if (acts) return undefined;
        const original = node.outputTensors[0];
        acts = { original, input: tf.input({ shape: original.shape.slice(1) as number[] }) };
        node.outputTensors.forEach((t, k) => reached.set(t.id, k === 0 ? acts!.input : undefined));
      } else if (ins.some((t) => reached.get(t.id))) {
        const mapped = ins.map(standIn);
        const r = l.apply(mapped.length === 1 ? mapped[0] : mapped) as Sym | Sym[];
        const outs = Array.isArray(r) ? r : [r];
        node.outputTensors.forEach((t, k) => reached.set(t.id, outs[k]));
      } else {
        node.outputTensors.forEach((t) => reached.set(t.id, undefined));
      }
    }
  }
  const out = reached.get(flat.outputs[0].id);
  if (!acts || !out) return undefined;
  const rest = [...cut.values()];
  return {
    prefix: tf.model({ inputs: image, outputs: [acts.original, ...rest.map((c) => c.original)] }),
    suffix: tf.model({ inputs: [acts.input, ...rest.map((c) => c.input)], outputs: out }),
  };
}

export interface SpatialLayer {
  name: string;
  shape: ImageShape;
  className: string;
}

export interface ModelViewImpl extends ModelView {
  /** The 4-D layers, in graph order (nested models inlined). */
  spatialLayers: SpatialLayer[];
  /** The default CAM layer (`defaultCamLayer`). */
  defaultLayer: string;
  cost: ModelCost;
  /** Images per forward batch that fit the memory budget; `probabilities` splits larger batches into these. */
  forwardBatch: number;
  /** What runs `probabilities`: 'onnxruntime-cpu' or the TF.js backend's name. Gradients always run on TF.js. */
  forwardBackend: string;
  /** True when scores are log-probabilities because the model exposes no logits. */
  scoresAreLogProbabilities: boolean;
  dispose(): void;
}

/**
 * The layer CAM methods use by default: the last 4-D layer whose map is at least 2×2 (a 1×1 map, e.g. after a
 * global pooling kept as 4-D, makes every CAM a constant), or, when every map is smaller, the largest one. For XAI
 * Lens models this is the attention block after the top convolution. '' when the model has no 4-D layer: gradient
 * and black-box methods still work; CAM methods ask for a layer and fail then.
 */
export function defaultCamLayer(layers: readonly SpatialLayer[]): string {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].shape[0] >= 2 && layers[i].shape[1] >= 2) return layers[i].name;
  let best: SpatialLayer | undefined;
  for (const l of layers) if (!best || l.shape[0] * l.shape[1] >= best.shape[0] * best.shape[1]) best = l;
  return best?.name ?? '';
}

/** f over consecutive slices of at most `batch` images, concatenated: bounded memory for any number of images. */
function forwardInBatches(x: tf.Tensor4D, batch: number, f: (b: tf.Tensor4D) => tf.Tensor2D): tf.Tensor2D {
  const n = x.shape[0];
  if (n <= batch) return f(x);
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < n; s += batch) {
    parts.push(tf.tidy(() => f(tf.slice(x, [s, 0, 0, 0], [Math.min(batch, n - s), -1, -1, -1]))));
  }
  const out = tf.concat(parts, 0);
  parts.forEach((p) => p.dispose());
  return out;
}

export interface ModelViewOptions {
  /** Runs `probabilities` natively (ONNX Runtime); scores, probes and gradients stay on TF.js. */
  native?: NativeForward;
}

export function createModelView(model: tf.LayersModel, opts: ModelViewOptions = {}): ModelViewImpl {
  const inShape = model.inputs[0].shape.slice(1) as number[];
  if (model.inputs.length !== 1 || inShape.length !== 3 || inShape.some((d) => !d)) {
    throw new XaiLensError(`model "${model.name}" must take one image input of known size [h, w, c], got ${JSON.stringify(model.inputs.map((t) => t.shape))}`);
  }
  const inputShape = inShape as ImageShape;
  const image = tf.input({ shape: inputShape, name: 'xai_image' });
  const base = rebuild(model, image);
  const logits = logitsOf(model, base);
  const scoresModel = flatModel(model, image, logits ?? base.outputs[0]);
  const numClasses = (base.outputs[0].shape[base.outputs[0].shape.length - 1] as number) ?? 0;

  const spatialLayers: SpatialLayer[] = [];
  for (const [name, t] of base.byName) {
    if (t.shape.length === 4 && t.shape.slice(1).every((d) => d !== null)) {
      spatialLayers.push({ name, shape: t.shape.slice(1) as ImageShape, className: t.sourceLayer.getClassName() });
    }
  }
  // Layers with an attention mechanism, found by what they can do (attentionMaps), not by class name.
  const attentionLayers: AttentionSite[] = [];
  for (const [name, { input, layer }] of base.inputsByName) {
    if (isAttentionLayer(layer) && input.shape.length === 4 && input.shape.slice(1).every((d) => d !== null)) {
      attentionLayers.push({ layer: name, className: layer.getClassName(), shape: input.shape.slice(1) as ImageShape });
    }
  }
  const attentionInputs = new Map<string, tf.LayersModel>();
  const defaultLayer = defaultCamLayer(spatialLayers);
  const cost = modelCost(model);
  const native = opts.native;
  const forwardBatch = native ? nativeBatch(cost) : fitBatch(cost, 256, 'forward').batch;
  const perImage = inputShape[0] * inputShape[1] * inputShape[2];
  // Native forward passes read the caller's array in place, forwardBatch images per call.
  const flatNative = (data: Float32Array, n: number): Float32Array => runInBatches(native!, data, n, perImage, forwardBatch);
  // No TF.js operation runs between taking the view and the native pass, which the view requires.
  const nativeProbabilities = (x: tf.Tensor4D): tf.Tensor2D => {
    const n = x.shape[0];
    const p = flatNative(float32View(x), n);
    return tf.tensor2d(p, [n, p.length / n]);
  };
  const probabilities = (x: tf.Tensor4D): tf.Tensor2D =>
    native ? nativeProbabilities(x) : forwardInBatches(x, forwardBatch, (b) => model.predict(b) as tf.Tensor2D);
  const findLayer = (layer: string): SpatialLayer => {
    const info = spatialLayers.find((l) => l.name === layer);
    if (info) return info;
    if (!spatialLayers.length) throw new XaiLensError(`model "${model.name}" has no 4-D layer, which CAM methods need`);
    throw new XaiLensError(`unknown layer "${layer}"; 4-D layers: ${spatialLayers.map((l) => l.name).join(', ')}`);
  };

  const toScores = (t: tf.Tensor): tf.Tensor2D => (logits ? t : tf.log(tf.add(t, 1e-12))) as tf.Tensor2D;
  const probes = new Map<string, tf.LayersModel>();
  const probeModel = (layer: string): tf.LayersModel => {
    let m = probes.get(layer);
    if (!m) {
      const info = findLayer(layer);
      const img = tf.input({ shape: inputShape });
      const delta = tf.input({ shape: info.shape });
      const r = rebuild(model, img, { layer, delta });
      const out = logitsOf(model, r) ?? r.outputs[0];
      m = flatModel(model, [img, delta], [r.byName.get(layer)!, out]);
      probes.set(layer, m);
    }
    return m;
  };

  const probe = (layer: string, x: tf.Tensor4D, delta: tf.Tensor4D): { activations: tf.Tensor4D; scores: tf.Tensor2D } => {
    const [activations, out] = probeModel(layer).apply([x, delta]) as tf.Tensor[];
    return { activations: activations as tf.Tensor4D, scores: toScores(out) };
  };
  // Undefined: this layer cannot be split, so its gradients go through the probe.
  const splits = new Map<string, LayerSplit | undefined>();
  const splitFor = (layer: string): LayerSplit | undefined => {
    if (!splits.has(layer)) {
      findLayer(layer);
      let split: LayerSplit | undefined;
      try {
        split = splitAt(scoresModel, layer);
      } catch {
        split = undefined;
      }
      splits.set(layer, split);
    }
    return splits.get(layer);
  };

  return {
    inputShape,
    numClasses,
    spatialLayers,
    attentionLayers,
    defaultLayer,
    scoresAreLogProbabilities: !logits,
    cost,
    forwardBatch,
    forwardBackend: native?.name ?? tf.getBackend(),
    probabilities,
    flatProbabilities: native ? flatNative : flatFromTensors(probabilities, inputShape, forwardBatch),
    scores: (x) => toScores(scoresModel.predict(x) as tf.Tensor),
    probe,
    layerGradients(layer, x, score) {
      const split = splitFor(layer);
      if (!split) {
        let acts: tf.Tensor4D | undefined;
        const g = tf.grad((d: tf.Tensor) => {
          const r = probe(layer, x, d as tf.Tensor4D);
          acts = tf.keep(r.activations);
          return score(r.scores);
        })(tf.zeros([x.shape[0], ...findLayer(layer).shape]));
        return { activations: acts!, gradients: g as tf.Tensor4D };
      }
      // The layers before the cut run outside the gradient tape, which frees their outputs as it goes: on a
      // MobileNetV2 at 224×224×3 the tape would otherwise hold ~80 MB of activations per image for a gradient that
      // never reaches them.
      const predicted = split.prefix.predict(x);
      const [activations, ...rest] = Array.isArray(predicted) ? predicted : [predicted];
      const gradients = tf.grad((a: tf.Tensor) => score(toScores(split.suffix.apply([a, ...rest]) as tf.Tensor)))(activations);
      return { activations: activations as tf.Tensor4D, gradients: gradients as tf.Tensor4D };
    },
    layerShape(layer) {
      return findLayer(layer).shape;
    },
    attentionMaps(layer, x) {
      const entry = base.inputsByName.get(layer);
      if (!entry || !isAttentionLayer(entry.layer)) {
        const names = attentionLayers.map((a) => a.layer);
        throw new XaiLensError(`"${layer}" is not an attention layer; ${names.length ? `attention layers: ${names.join(', ')}` : `model "${model.name}" has none`}`);
      }
      let m = attentionInputs.get(layer);
      if (!m) {
        m = flatModel(model, image, entry.input);
        attentionInputs.set(layer, m);
      }
      return entry.layer.attentionMaps(m.predict(x) as tf.Tensor4D);
    },
    dispose() {
      // The rebuilt graphs share the original model's weights, which the model's owner disposes.
      probes.clear();
      splits.clear();
      attentionInputs.clear();
    },
  };
}
