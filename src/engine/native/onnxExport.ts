/**
 * The engine's exporter from tfjs-layers models to ONNX, so that forward-only work can run on ONNX Runtime's native
 * CPU provider. Gradients stay in TensorFlow.js; this graph only predicts probabilities.
 *
 * Layout: TF.js is NHWC and ONNX convolutions are NCHW, so the input is transposed once and every 4-D tensor stays
 * NCHW inside the graph; a tensor goes back to NHWC only where its memory order matters (Flatten, Reshape, a 4-D
 * output). Weights are written as raw little-endian initializers, converted to ONNX's layouts here.
 *
 * One entry per layer class in LAYER_EXPORTERS; an unknown class gives one line naming it, and the caller falls back
 * to TF.js. Nested models (a backbone inside a classifier) are inlined; a model imported from ONNX is not rebuilt:
 * its original graph is spliced in, at its own opset.
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { XaiLensError } from '../errors';
import { onnxSourceOf, type OnnxSource } from '../io/onnx/onnxModel';
import type { Preprocess } from '../io/modelFormats';
import type { GraphSegment } from '../io/tfjsGraph';
import { emitGraph } from './graphExport';

const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A tensor of the ONNX graph: its name and rank; rank-4 tensors are NCHW. */
export interface Value {
  name: string;
  rank: number;
}

type Attr = number | number[] | string;

/** Accumulates nodes and initializers with unique names. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  /** Set when an imported ONNX graph was spliced in: its opsets and IR version become the model's. */
  source?: OnnxSource;
  /** Layer classes emitted around a spliced graph, which must mean the same at its opset. */
  readonly around = new Set<string>();
  private counter = 0;

  fresh(hint: string): string {
    return `${hint.replace(/[^A-Za-z0-9_./-]/g, '_')}__${this.counter++}`;
  }

  floats(hint: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.fresh(hint);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) });
    return name;
  }

  ints(hint: string, data: number[]): string {
    const name = this.fresh(hint);
    const b = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = type): string {
    const out = this.fresh(hint);
    const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
      return Number.isInteger(v) && !FLOAT_ATTRS.has(name)
        ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
        : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
    });
    this.nodes.push({ opType: type, input: inputs, output: [out], attribute, name: out });
    return out;
  }
}

/** Attributes that are floats even when their value is a whole number. */
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma']);

type Config = Record<string, unknown>;

/** NHWC axis → NCHW axis for a rank-4 tensor. */
export function nchwAxis(axis: number): number {
  const a = axis < 0 ? axis + 4 : axis;
  return [0, 2, 3, 1][a];
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** TF's SAME padding for one spatial axis: the total split with the extra pixel at the end. */
function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function spatialIn(layer: tf.layers.Layer): [number, number] {
  const s = layer.inboundNodes[0].inputTensors[0].shape;
  if (s.length !== 4 || s[1] == null || s[2] == null) throw new XaiLensError(`ONNX export: layer "${layer.name}" needs a known spatial input size, got ${JSON.stringify(s)}`);
  return [s[1], s[2]];
}

/** ONNX pads [top, left, bottom, right] for a window op of this layer. */
function windowPads(layer: tf.layers.Layer, k: [number, number], strides: [number, number], dil: [number, number]): number[] {
  const padding = (layer.getConfig() as Config).padding;
  if (padding === 'valid' || padding === undefined) return [0, 0, 0, 0];
  if (padding !== 'same') throw new XaiLensError(`ONNX export: layer "${layer.name}": padding "${String(padding)}" is not supported`);
  const [h, w] = spatialIn(layer);
  const [t, b] = samePads(h, k[0], strides[0], dil[0]);
  const [l, r] = samePads(w, k[1], strides[1], dil[1]);
  return [t, l, b, r];
}

function weightsByName(layer: tf.layers.Layer): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  layer.weights.forEach((w, i) => {
    const short = w.originalName.split('/').pop()!;
    m.set(short, layer.getWeights()[i]);
  });
  return m;
}

/** A custom layer's weight by its path inside the layer ("mlp1/kernel"): the last segment alone is ambiguous there. */
function weightAt(layer: tf.layers.Layer, path: string): tf.Tensor {
  const i = layer.weights.findIndex((v) => v.originalName === path || v.originalName.endsWith(`/${path}`));
  if (i < 0) throw new XaiLensError(`ONNX export: layer "${layer.name}" (${layer.getClassName()}) has no weight ${path}`);
  return layer.getWeights()[i];
}

export function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** A TF [kh, kw, ci, multiplier] depthwise kernel as an ONNX grouped Conv's [ci·multiplier, 1, kh, kw]. */
export function depthwiseKernel(t: tf.Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, ci, m] = t.shape;
  const src = data(t);
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) for (let q = 0; q < m; q++) {
    out[((c * m + q) * kh + i) * kw + j] = src[((i * kw + j) * ci + c) * m + q];
  }
  return { data: out, dims: [ci * m, 1, kh, kw] };
}

/** A TF [kh, kw, ci, co] kernel as ONNX's [co, ci, kh, kw]. */
export function convKernel(t: tf.Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, ci, co] = t.shape;
  const src = data(t);
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) {
    out[((o * ci + c) * kh + i) * kw + j] = src[((i * kw + j) * ci + c) * co + o];
  }
  return { data: out, dims: [co, ci, kh, kw] };
}

/** Applies a Keras activation by name. */
export function activation(g: GraphBuilder, kind: string | undefined, x: Value, where: string): Value {
  const v = (name: string): Value => ({ name, rank: x.rank });
  switch ((kind ?? 'linear').toLowerCase()) {
    case 'linear':
      return x;
    case 'relu':
      return v(g.op('Relu', [x.name]));
    case 'relu6':
      return v(g.op('Clip', [x.name, g.floats('zero', [0], []), g.floats('six', [6], [])]));
    case 'sigmoid':
      return v(g.op('Sigmoid', [x.name]));
    case 'tanh':
      return v(g.op('Tanh', [x.name]));
    case 'elu':
      return v(g.op('Elu', [x.name], { alpha: 1 }));
    case 'selu':
      return v(g.op('Selu', [x.name], { alpha: 1.6732632423543772, gamma: 1.0507009873554805 }));
    case 'softplus':
      return v(g.op('Softplus', [x.name]));
    case 'hardsigmoid':
    case 'hard_sigmoid':
      return v(g.op('HardSigmoid', [x.name], { alpha: 0.2, beta: 0.5 }));
    case 'swish':
    case 'silu':
      return v(g.op('Mul', [x.name, g.op('Sigmoid', [x.name])]));
    case 'softmax':
      return v(g.op('Softmax', [x.name], { axis: x.rank === 4 ? 1 : -1 }));
    default:
      throw new XaiLensError(`ONNX export: ${where}: activation "${kind}" is not supported`);
  }
}

/** Back to NHWC memory order (for ops that depend on it). */
export function toNhwc(g: GraphBuilder, x: Value): string {
  return x.rank === 4 ? g.op('Transpose', [x.name], { perm: [0, 2, 3, 1] }) : x.name;
}

function flatten2d(g: GraphBuilder, name: string): Value {
  return { name: g.op('Flatten', [name], { axis: 1 }), rank: 2 };
}

/** Gemm over [N, in] with a Keras [in, out] kernel. */
function dense(g: GraphBuilder, x: Value, kernel: tf.Tensor, bias: tf.Tensor | undefined, hint: string): Value {
  const [i, o] = kernel.shape;
  const inputs = [x.name, g.floats(`${hint}/kernel`, data(kernel), [i, o])];
  if (bias) inputs.push(g.floats(`${hint}/bias`, data(bias), [o]));
  return { name: g.op('Gemm', inputs), rank: 2 };
}

/** A 1×1 convolution with bias from a Keras [1, 1, ci, co] kernel, NCHW. */
function pointwise(g: GraphBuilder, x: Value, kernel: tf.Tensor, bias: tf.Tensor, hint: string): string {
  const k = convKernel(kernel);
  return g.op('Conv', [x.name, g.floats(`${hint}/kernel`, k.data, k.dims), g.floats(`${hint}/bias`, data(bias), [bias.size])], { kernel_shape: [1, 1] }, hint);
}

/** [N, C, H, W] → [N, rows, H·W]: positions in row-major (h, w) order, as TF.js numbers them in NHWC. */
function positions(g: GraphBuilder, x: string, rows: number): string {
  return g.op('Reshape', [x, g.ints('shape', [0, rows, -1])]);
}

/**
 * Layer normalization over the last axis of a 2-D tensor, (x − mean)/√(var + ε)·γ + β with the biased variance, as
 * tf.moments gives it; written out because ONNX's LayerNormalization needs opset 17.
 */
function layerNorm(g: GraphBuilder, x: Value, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, hint: string): Value {
  const centred = g.op('Sub', [x.name, g.op('ReduceMean', [x.name], { axes: [-1], keepdims: 1 })]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, g.floats(`${hint}/epsilon`, [epsilon], [])])])]);
  const n = gamma.size;
  return { name: g.op('Add', [g.op('Mul', [normed, g.floats(`${hint}/gamma`, data(gamma), [n])]), g.floats(`${hint}/beta`, data(beta), [n])]), rank: 2 };
}

function elementwise(op: string): LayerExporter {
  return (g, layer, xs) => {
    if (xs.some((x) => x.rank !== xs[0].rank)) throw new XaiLensError(`ONNX export: layer "${layer.name}" mixes inputs of rank ${xs.map((x) => x.rank).join(', ')}`);
    let out = xs[0].name;
    for (const x of xs.slice(1)) out = g.op(op, [out, x.name]);
    return { name: out, rank: xs[0].rank };
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): LayerExporter {
  return (g, layer, [x]) => {
    const cfg = layer.getConfig() as Config;
    const k = pair(cfg.poolSize, 2);
    const s = pair(cfg.strides ?? cfg.poolSize, k[0]);
    const attrs: Record<string, Attr> = { kernel_shape: k, strides: s, pads: windowPads(layer, k, s, [1, 1]) };
    return { name: g.op(op, [x.name], attrs), rank: 4 };
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerExporter {
  return (g, layer, [x]) => {
    const pooled = g.op(op, [x.name]);
    return (layer.getConfig() as Config).keepDims ? { name: pooled, rank: 4 } : flatten2d(g, pooled);
  };
}

export type LayerExporter = (g: GraphBuilder, layer: tf.layers.Layer, inputs: Value[]) => Value;

/** One entry per tfjs-layers class (and this project's custom layers). */
export const LAYER_EXPORTERS: Record<string, LayerExporter> = {
  Conv2D(g, layer, [x]) {
    const cfg = layer.getConfig() as Config;
    const w = weightsByName(layer);
    const k = pair(cfg.kernelSize, 1);
    const s = pair(cfg.strides, 1);
    const d = pair(cfg.dilationRate, 1);
    const kernel = convKernel(w.get('kernel')!);
    const inputs = [x.name, g.floats(`${layer.name}/kernel`, kernel.data, kernel.dims)];
    const bias = w.get('bias');
    if (bias) inputs.push(g.floats(`${layer.name}/bias`, data(bias), [bias.size]));
    const y = { name: g.op('Conv', inputs, { kernel_shape: k, strides: s, dilations: d, pads: windowPads(layer, k, s, d) }, layer.name), rank: 4 };
    return activation(g, cfg.activation as string, y, layer.name);
  },
  DepthwiseConv2D(g, layer, [x]) {
    const cfg = layer.getConfig() as Config;
    const w = weightsByName(layer);
    const k = pair(cfg.kernelSize, 1);
    const s = pair(cfg.strides, 1);
    const d = pair(cfg.dilationRate, 1);
    const kernel = w.get('depthwise_kernel')!;
    const kt = depthwiseKernel(kernel);
    const ci = kernel.shape[2]!;
    const inputs = [x.name, g.floats(`${layer.name}/kernel`, kt.data, kt.dims)];
    const bias = w.get('bias');
    if (bias) inputs.push(g.floats(`${layer.name}/bias`, data(bias), [bias.size]));
    const y = { name: g.op('Conv', inputs, { kernel_shape: k, strides: s, dilations: d, group: ci, pads: windowPads(layer, k, s, d) }, layer.name), rank: 4 };
    return activation(g, cfg.activation as string, y, layer.name);
  },
  BatchNormalization(g, layer, [x]) {
    const cfg = layer.getConfig() as Config;
    const axis = Number(cfg.axis ?? -1);
    if (axis !== -1 && axis !== x.rank - 1) throw new XaiLensError(`ONNX export: layer "${layer.name}": batch normalization over axis ${axis} is not supported (only the channel axis)`);
    const w = weightsByName(layer);
    const mean = w.get('moving_mean')!;
    const c = mean.size;
    const gamma = w.get('gamma');
    const beta = w.get('beta');
    const inputs = [
      x.name,
      g.floats(`${layer.name}/gamma`, gamma ? data(gamma) : new Float32Array(c).fill(1), [c]),
      g.floats(`${layer.name}/beta`, beta ? data(beta) : new Float32Array(c), [c]),
      g.floats(`${layer.name}/mean`, data(mean), [c]),
      g.floats(`${layer.name}/variance`, data(w.get('moving_variance')!), [c]),
    ];
    return { name: g.op('BatchNormalization', inputs, { epsilon: Number(cfg.epsilon ?? 1e-3) }, layer.name), rank: x.rank };
  },
  Activation: (g, layer, [x]) => activation(g, (layer.getConfig() as Config).activation as string, x, layer.name),
  ReLU(g, layer, [x]) {
    const max = (layer.getConfig() as Config).maxValue;
    if (max == null) return activation(g, 'relu', x, layer.name);
    return { name: g.op('Clip', [x.name, g.floats('zero', [0], []), g.floats('max', [Number(max)], [])]), rank: x.rank };
  },
  LeakyReLU: (g, layer, [x]) => ({ name: g.op('LeakyRelu', [x.name], { alpha: Number((layer.getConfig() as Config).alpha ?? 0.3) }), rank: x.rank }),
  Softmax(g, layer, [x]) {
    const axis = Number((layer.getConfig() as Config).axis ?? -1);
    return { name: g.op('Softmax', [x.name], { axis: x.rank === 4 ? nchwAxis(axis) : axis }), rank: x.rank };
  },
  Add: elementwise('Add'),
  Multiply: elementwise('Mul'),
  Maximum: elementwise('Max'),
  Minimum: elementwise('Min'),
  Average(g, layer, xs) {
    const sum = elementwise('Add')(g, layer, xs);
    return { name: g.op('Mul', [sum.name, g.floats('inv', [1 / xs.length], [])]), rank: sum.rank };
  },
  Concatenate(g, layer, xs) {
    const axis = Number((layer.getConfig() as Config).axis ?? -1);
    const rank = xs[0].rank;
    return { name: g.op('Concat', xs.map((x) => x.name), { axis: rank === 4 ? nchwAxis(axis) : axis }), rank };
  },
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  Dense(g, layer, [x]) {
    if (x.rank !== 2) throw new XaiLensError(`ONNX export: layer "${layer.name}": Dense on a rank-${x.rank} input is not supported`);
    const w = weightsByName(layer);
    return activation(g, (layer.getConfig() as Config).activation as string, dense(g, x, w.get('kernel')!, w.get('bias'), layer.name), layer.name);
  },
  Dropout: (_g, _layer, [x]) => x,
  GaussianNoise: (_g, _layer, [x]) => x,
  Flatten: (g, _layer, [x]) => flatten2d(g, toNhwc(g, x)),
  Reshape(g, layer, [x]) {
    const target = ((layer.getConfig() as Config).targetShape as number[]).map(Number);
    const out = g.op('Reshape', [toNhwc(g, x), g.ints('shape', [0, ...target])]);
    const rank = target.length + 1;
    return { name: rank === 4 ? g.op('Transpose', [out], { perm: [0, 3, 1, 2] }) : out, rank };
  },
  ZeroPadding2D(g, layer, [x]) {
    const p = (layer.getConfig() as Config).padding as number | [number, number] | [[number, number], [number, number]];
    const [[t, b], [l, r]] = typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p[0]) ? (p as [[number, number], [number, number]]) : [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
    return { name: g.op('Pad', [x.name, g.ints('pads', [0, 0, t, l, 0, 0, b, r])]), rank: 4 };
  },
  GraphSegment: (g, layer, [x]) => emitGraph(g, (layer as GraphSegment).span(), x),
  XaiLensPreprocess(g, layer, [x]) {
    const { reverse, scale, offset } = (layer as Preprocess).affine();
    const dims = x.rank === 4 ? [1, scale.length, 1, 1] : [scale.length];
    const channels = reverse ? g.op('Gather', [x.name, g.ints('bgr', [2, 1, 0])], { axis: x.rank === 4 ? 1 : x.rank - 1 }) : x.name;
    return { name: g.op('Add', [g.op('Mul', [channels, g.floats('scale', scale, dims)]), g.floats('offset', offset, dims)]), rank: x.rank };
  },
  SqueezeExcite(g, layer, [x]) {
    const w = layer.getWeights();
    const s = flatten2d(g, g.op('GlobalAveragePool', [x.name]));
    const hidden = activation(g, 'relu', dense(g, s, w[0], w[1], `${layer.name}/fc1`), layer.name);
    const gate = activation(g, 'sigmoid', dense(g, hidden, w[2], w[3], `${layer.name}/fc2`), layer.name);
    const c = w[3].size;
    return { name: g.op('Mul', [x.name, g.op('Reshape', [gate.name, g.ints('shape', [0, c, 1, 1])])]), rank: 4 };
  },
  CBAM(g, layer, [x]) {
    const cfg = layer.getConfig() as Config;
    const w = (path: string): tf.Tensor => weightAt(layer, path);
    const [w1, b1, w2, b2, sk] = ['mlp1/kernel', 'mlp1/bias', 'mlp2/kernel', 'mlp2/bias', 'spatial/kernel'].map(w);
    const c = b2.size;
    const mlp = (pooled: string, hint: string) =>
      dense(g, activation(g, 'relu', dense(g, flatten2d(g, pooled), w1, b1, `${layer.name}/${hint}1`), layer.name), w2, b2, `${layer.name}/${hint}2`);
    const a = mlp(g.op('GlobalAveragePool', [x.name]), 'avg');
    const m = mlp(g.op('GlobalMaxPool', [x.name]), 'max');
    const gate = g.op('Reshape', [g.op('Sigmoid', [g.op('Add', [a.name, m.name])]), g.ints('shape', [0, c, 1, 1])]);
    const xc = g.op('Mul', [x.name, gate]);
    const mean = g.op('ReduceMean', [xc], { axes: [1], keepdims: 1 });
    const max = g.op('ReduceMax', [xc], { axes: [1], keepdims: 1 });
    // The published gate (batch-normalised, no bias) stacks [max, mean]; configs saved before it, [mean, max] + bias.
    const bn = Boolean(cfg.spatialBatchNorm);
    const maps = g.op('Concat', bn ? [max, mean] : [mean, max], { axis: 1 });
    const k = sk.shape[0];
    const kernel = convKernel(sk);
    const half = (k - 1) / 2;
    const convInputs = [maps, g.floats(`${layer.name}/spatial`, kernel.data, kernel.dims)];
    if (!bn) convInputs.push(g.floats(`${layer.name}/spatial_bias`, data(w('spatial/bias')), [1]));
    let conv = g.op('Conv', convInputs, { kernel_shape: [k, k], strides: [1, 1], pads: [half, half, half, half] });
    if (bn) {
      const [gamma, beta, mu, variance] = ['spatial_bn/gamma', 'spatial_bn/beta', 'spatial_bn/moving_mean', 'spatial_bn/moving_variance'].map(w);
      conv = g.op('BatchNormalization', [conv, ...[gamma, beta, mu, variance].map((t, i) => g.floats(`${layer.name}/spatial_bn${i}`, data(t), [1]))], {
        epsilon: Number(cfg.epsilon ?? 1e-5),
      });
    }
    return { name: g.op('Mul', [xc, g.op('Sigmoid', [conv])]), rank: 4 };
  },
  PAM(g, layer, [x]) {
    const w = (path: string): tf.Tensor => weightAt(layer, path);
    const project = (what: string): string => positions(g, pointwise(g, x, w(`${what}/kernel`), w(`${what}/bias`), `${layer.name}/${what}`), w(`${what}/bias`).size);
    const [q, k, v] = ['query', 'key', 'value'].map(project);
    const t = (name: string): string => g.op('Transpose', [name], { perm: [0, 2, 1] });
    // Row i: softmax over positions j of q_i · k_j, unscaled as in DANet.
    const attention = g.op('Softmax', [g.op('MatMul', [t(q), k])], { axis: -1 });
    // out_i = Σ_j A_ij v_j as A · vᵀ, positions first: transposing v and the result (C × H·W each) costs less time and
    // memory than transposing A (H·W × H·W) to stay channels first.
    const out = g.op('Reshape', [t(g.op('MatMul', [attention, t(v)])), g.op('Shape', [x.name])]);
    return { name: g.op('Add', [g.op('Mul', [out, g.floats(`${layer.name}/gamma`, data(w('gamma')), [1])]), x.name]), rank: 4 };
  },
  GCBlock(g, layer, [x]) {
    const w = (path: string): tf.Tensor => weightAt(layer, path);
    const c = w('transform2/bias').size;
    const logits = positions(g, pointwise(g, x, w('mask/kernel'), w('mask/bias'), `${layer.name}/mask`), 1);
    // The [N, 1, H·W] mask read as a column [N, H·W, 1]: the same memory, so a Reshape rather than a Transpose.
    const mask = g.op('Reshape', [g.op('Softmax', [logits], { axis: -1 }), g.ints('shape', [0, -1, 1])]);
    const context = flatten2d(g, g.op('MatMul', [positions(g, x.name, c), mask]));
    const t1 = dense(g, context, w('transform1/kernel'), w('transform1/bias'), `${layer.name}/transform1`);
    const epsilon = Number((layer.getConfig() as Config).epsilon ?? 1e-5);
    const hidden = activation(g, 'relu', layerNorm(g, t1, w('ln/gamma'), w('ln/beta'), epsilon, `${layer.name}/ln`), layer.name);
    const t = dense(g, hidden, w('transform2/kernel'), w('transform2/bias'), `${layer.name}/transform2`);
    return { name: g.op('Add', [x.name, g.op('Reshape', [t.name, g.ints('shape', [0, c, 1, 1])])]), rank: 4 };
  },
};

/** Layer classes the exporter covers. */
export const EXPORTABLE_LAYERS: readonly string[] = Object.keys(LAYER_EXPORTERS);

/** Layers whose ONNX ops mean the same at every opset an imported graph may use (7 and later). */
const OPSET_NEUTRAL = new Set(['XaiLensPreprocess', 'Activation', 'Softmax']);

/**
 * Copies an imported ONNX graph into `g` with its tensors renamed apart, fed `x` (NCHW here; an NHWC graph gets it
 * transposed back). Its nodes are passed through as they are, so ONNX Runtime runs the user's own graph.
 */
function spliceSource(g: GraphBuilder, source: OnnxSource, x: Value): Value {
  if (g.source) throw new XaiLensError('ONNX export: the model holds two imported ONNX graphs');
  g.source = source;
  const input = source.inputLayout === 'NCHW' ? x.name : toNhwc(g, x);
  const prefix = `${g.fresh('onnx')}/`;
  const rename = (n: string | null | undefined): string => (!n ? '' : n === source.inputName ? input : prefix + n);
  for (const init of source.graph.initializer ?? []) g.initializers.push({ ...init, name: rename(init.name) });
  for (const node of source.graph.node ?? []) {
    if ((node.attribute ?? []).some((a) => a.g || a.graphs?.length)) {
      throw new XaiLensError(`ONNX export: node "${node.name}" (${node.opType}) holds a subgraph`);
    }
    g.nodes.push({ ...node, name: prefix + (node.name || node.output?.[0] || ''), input: (node.input ?? []).map(rename), output: (node.output ?? []).map(rename) });
  }
  return { name: rename(source.outputName), rank: 2 };
}

function emitModel(g: GraphBuilder, model: tf.LayersModel, inputs: Value[]): Value[] {
  const source = onnxSourceOf(model);
  if (source) return [spliceSource(g, source, inputs[0])];
  const map = new Map<number, Value>();
  model.inputs.forEach((t, i) => map.set(t.id, inputs[i]));
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    for (const node of layer.inboundNodes) {
      const ins = node.inputTensors;
      if (!ins.length || !ins.every((t) => map.has(t.id)) || node.outputTensors.every((t) => map.has(t.id))) continue;
      const mapped = ins.map((t) => map.get(t.id)!);
      let outs: Value[];
      if (layer instanceof tf.LayersModel) outs = emitModel(g, layer, mapped);
      else {
        const exporter = LAYER_EXPORTERS[cls];
        if (!exporter) throw new XaiLensError(`ONNX export: layer "${layer.name}" of class ${cls} is not supported`);
        outs = [exporter(g, layer, mapped)];
        g.around.add(cls);
      }
      node.outputTensors.forEach((t, k) => map.set(t.id, outs[k]));
    }
  }
  return model.outputs.map((t) => {
    const v = map.get(t.id);
    if (!v) throw new XaiLensError(`ONNX export: output ${t.name} of "${model.name}" is not reachable from its inputs`);
    return v;
  });
}

export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'output';

/** The model as a serialized ONNX ModelProto: input `image` [N, h, w, c] (NHWC, as TF.js), output `output`. */
export function exportOnnx(model: tf.LayersModel): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new XaiLensError(`ONNX export: model "${model.name}" must have one input and one output, has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inShape = model.inputs[0].shape;
  const g = new GraphBuilder();
  const x: Value = inShape.length === 4 ? { name: g.op('Transpose', [ONNX_INPUT], { perm: [0, 3, 1, 2] }), rank: 4 } : { name: ONNX_INPUT, rank: inShape.length };
  const [y] = emitModel(g, model, [x]);
  const outShape = model.outputs[0].shape;
  g.nodes.push({ opType: 'Identity', input: [toNhwc(g, y)], output: [ONNX_OUTPUT], name: ONNX_OUTPUT });
  const valueInfo = (name: string, shape: (number | null)[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d, i) => (d == null || i === 0 ? { dimParam: 'N' } : { dimValue: d })) } } },
  });
  const source = g.source;
  const foreign = source ? [...g.around].filter((c) => !OPSET_NEUTRAL.has(c)) : [];
  if (foreign.length) throw new XaiLensError(`ONNX export: layers of class ${foreign.join(', ')} around an imported ONNX graph`);
  const proto = onnx.ModelProto.create({
    irVersion: Math.max(8, source?.irVersion ?? 0),
    producerName: 'xai-lens',
    opsetImport: source?.opsetImport.length ? source.opsetImport : [{ domain: '', version: OPSET }],
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, inShape)],
      output: [valueInfo(ONNX_OUTPUT, outShape)],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
