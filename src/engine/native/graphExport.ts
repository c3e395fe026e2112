/**
 * TensorFlow.js graph models (tfjs-converter output) translated to ONNX nodes, so that their forward passes run on
 * ONNX Runtime like those of layers models. Each GraphSegment layer of a wrapped graph model (io/tfjsGraph.ts) is
 * emitted as the graph's own ops between its two cut tensors, in the exporter's convention (4-D tensors NCHW, so
 * TF's NHWC axes and constants are mapped once here).
 *
 * The ops of converted CNNs are covered: Conv2D, DepthwiseConv2dNative and their fused forms (a bias, then an
 * activation), BiasAdd, elementwise Add/Sub/Mul/RealDiv/Maximum/Minimum with a per-channel or scalar
 * constant, Relu/Relu6/Elu/Sigmoid/Tanh, FusedBatchNorm, Mean/Max over axes, MatMul (fused too), MaxPool/AvgPool,
 * Pad, ConcatV2, Reshape, Squeeze, Softmax, Identity. Anything else gives one line naming the op, and the caller
 * keeps the model on TF.js; the probe check catches a translation that disagrees.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { activation, convKernel, data, depthwiseKernel, nchwAxis, toNhwc, type GraphBuilder, type Value } from './onnxExport';
import { executorGraph, type GraphNode as Node } from '../io/tfjsGraph';

function attr<T>(n: Node, name: string, fallback: T): T {
  const v = n.attrParams[name]?.value;
  return v === undefined || v === null ? fallback : (v as T);
}

function fail(n: Node, why: string): never {
  throw new XaiLensError(`ONNX export: TF.js graph node "${n.name}" (${n.op}): ${why}`);
}

/** Emits the ops of `span.graph` after node `span.from` (whose value is `x`; NCHW when 4-D) up to node `span.to`. */
export function emitGraph(g: GraphBuilder, span: { graph: tf.GraphModel; from: string; to: string }, x: Value): Value {
  const weights = span.graph.weights as unknown as Record<string, tf.Tensor[] | undefined>;
  const nodes = executorGraph(span.graph).nodes;
  const values = new Map<string, Value>([[span.from, x]]);
  const constOf = (n: Node): tf.Tensor | undefined => (n.op === 'Const' ? weights[n.name]?.[0] : undefined);
  const needConst = (n: Node, i: number): tf.Tensor => {
    const c = n.inputs[i] && constOf(n.inputs[i]);
    if (!c) fail(n, `input ${i} is computed, not a constant`);
    return c;
  };

  /** A constant operand for `x`: a per-channel vector reshaped for NCHW, or a scalar. */
  const operand = (n: Node, c: tf.Tensor, x: Value): string => {
    if (c.size === 1) return g.floats(`${n.name}/c`, data(c).slice(0, 1), []);
    if (c.rank === 1 && x.rank === 4) return g.floats(`${n.name}/c`, data(c), [1, c.size, 1, 1]);
    if (x.rank !== 4) return g.floats(`${n.name}/c`, data(c), c.shape);
    return fail(n, `a constant of shape [${c.shape.join(', ')}] meets a 4-D tensor`);
  };

  const conv = (n: Node, x: Value, depthwise: boolean): Value => {
    const k = needConst(n, 1);
    const [kh, kw, ci] = k.shape;
    const strides = attr<number[]>(n, 'strides', [1, 1, 1, 1]);
    const dil = attr<number[]>(n, 'dilations', [1, 1, 1, 1]);
    if (attr<string>(n, 'dataFormat', 'nhwc').toLowerCase() !== 'nhwc') fail(n, 'only NHWC convolutions are supported');
    const pad = attr<string>(n, 'pad', 'valid').toLowerCase();
    const explicit = attr<number[]>(n, 'explicitPaddings', []);
    const padAttrs: Record<string, string | number[]> = pad === 'same' ? { auto_pad: 'SAME_UPPER' } : pad === 'explicit' ? { pads: [explicit[2], explicit[4], explicit[3], explicit[5]] } : {};
    const kt = depthwise ? depthwiseKernel(k) : convKernel(k);
    return {
      name: g.op('Conv', [x.name, g.floats(`${n.name}/kernel`, kt.data, kt.dims)], {
        kernel_shape: [kh, kw], strides: [strides[1], strides[2]], dilations: [dil[1], dil[2]], ...(depthwise ? { group: ci } : {}), ...padAttrs,
      } as Record<string, string | number | number[]>, n.name),
      rank: 4,
    };
  };

  /** The fused ops after a conv or matmul: a bias, then an activation (TF.js runs no other fused forms). */
  const fused = (n: Node, y: Value): Value => {
    const ops = attr<string[]>(n, 'fusedOps', []).map((o) => o.toLowerCase());
    let out = y;
    if (ops[0] === 'biasadd') out = { name: g.op('Add', [out.name, operand(n, needConst(n, 2), out)]), rank: out.rank };
    else if (ops[0]) fail(n, `fused op ${ops[0]} is not supported`);
    const act = ops[1];
    if (act === 'leakyrelu') return { name: g.op('LeakyRelu', [out.name], { alpha: attr<number>(n, 'leakyreluAlpha', 0.2) }), rank: out.rank };
    if (act && !['relu', 'relu6', 'elu', 'sigmoid', 'tanh'].includes(act)) fail(n, `fused activation ${act} is not supported`);
    return act ? activation(g, act, out, n.name) : out;
  };

  const axesOf = (n: Node, x: Value): number[] => {
    const axes = Array.from(needConst(n, 1).dataSync(), Number);
    return x.rank === 4 ? axes.map(nchwAxis) : axes;
  };

  /** A result in TF's memory order as a Value: 4-D ones go to NCHW. */
  const nchw = (v: Value): Value => (v.rank === 4 ? { name: g.op('Transpose', [v.name], { perm: [0, 3, 1, 2] }), rank: 4 } : v);

  const valueOf = (n: Node): Value => {
    let v = values.get(n.name);
    if (!v) {
      v = translate(n);
      values.set(n.name, v);
    }
    return v;
  };

  const translate = (n: Node): Value => {
    // Only first outputs carry data in these ops (FusedBatchNorm's others are statistics for training).
    if (n.inputNames.some((name) => /:[1-9]\d*$/.test(name))) fail(n, 'it reads a second output of another node');
    const input = (i = 0): Value => valueOf(n.inputs[i]);
    switch (n.op) {
      case 'Identity':
        return input();
      case 'Conv2D':
        return conv(n, input(), false);
      case 'DepthwiseConv2dNative':
      case 'DepthwiseConv2D':
        return conv(n, input(), true);
      case '_FusedConv2D':
        return fused(n, conv(n, input(), false));
      case 'FusedDepthwiseConv2dNative':
        return fused(n, conv(n, input(), true));
      case 'MatMul':
      case '_FusedMatMul': {
        const x = input();
        const k = needConst(n, 1);
        if (attr<boolean>(n, 'transposeA', false)) fail(n, 'transposed left operand');
        const kernel = attr<boolean>(n, 'transposeB', false) ? { name: g.op('Transpose', [g.floats(`${n.name}/kernel`, data(k), k.shape)], { perm: [1, 0] }) } : { name: g.floats(`${n.name}/kernel`, data(k), k.shape) };
        const y = { name: g.op('MatMul', [x.name, kernel.name]), rank: 2 };
        return n.op === 'MatMul' ? y : fused(n, y);
      }
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum': {
        const onnxOp = { BiasAdd: 'Add', Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[n.op]!;
        const [a, b] = n.inputs;
        const ca = constOf(a);
        const cb = constOf(b);
        if (ca && cb) fail(n, 'both operands are constants');
        if (cb) {
          const x = valueOf(a);
          return { name: g.op(onnxOp, [x.name, operand(n, cb, x)]), rank: x.rank };
        }
        if (ca) {
          const x = valueOf(b);
          return { name: g.op(onnxOp, [operand(n, ca, x), x.name]), rank: x.rank };
        }
        const [x, y] = [valueOf(a), valueOf(b)];
        if (x.rank !== y.rank) fail(n, `operands of rank ${x.rank} and ${y.rank}`);
        return { name: g.op(onnxOp, [x.name, y.name]), rank: x.rank };
      }
      case 'Relu':
      case 'Relu6':
      case 'Elu':
      case 'Sigmoid':
      case 'Tanh':
        return activation(g, n.op.toLowerCase(), input(), n.name);
      case 'Softmax': {
        const x = input();
        if (x.rank !== 2) fail(n, 'softmax over a 4-D tensor');
        return { name: g.op('Softmax', [x.name], { axis: -1 }), rank: 2 };
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3': {
        const x = input();
        const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => g.floats(`${n.name}/bn${i}`, data(needConst(n, i)), [needConst(n, i).size]));
        return { name: g.op('BatchNormalization', [x.name, scale, offset, mean, variance], { epsilon: attr<number>(n, 'epsilon', 1e-3) }), rank: x.rank };
      }
      case 'Mean':
      case 'Max': {
        const x = input();
        const keep = attr<boolean>(n, 'keepDims', false) ? 1 : 0;
        const axes = axesOf(n, x);
        const name = g.op(n.op === 'Mean' ? 'ReduceMean' : 'ReduceMax', [x.name], { axes, keepdims: keep });
        if (keep || x.rank !== 4) return { name, rank: keep ? x.rank : x.rank - axes.length };
        // [N, C] after a spatial reduction keeps its order; anything else left 4-D-ordered is not supported.
        if ([...axes].sort().join() !== '2,3') fail(n, `reduction over NHWC axes other than height and width`);
        return { name, rank: 2 };
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = input();
        const k = attr<number[]>(n, 'kernelSize', [1, 1, 1, 1]);
        const s = attr<number[]>(n, 'strides', [1, 1, 1, 1]);
        const pad = attr<string>(n, 'pad', 'valid').toLowerCase();
        if (pad === 'explicit') fail(n, 'explicit pooling pads');
        const same = pad === 'same';
        if (same && n.op === 'AvgPool') fail(n, "average pooling with 'same' padding is not supported");
        return { name: g.op(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], { kernel_shape: [k[1], k[2]], strides: [s[1], s[2]], ...(same ? { auto_pad: 'SAME_UPPER' } : {}) }), rank: 4 };
      }
      case 'Pad':
      case 'PadV2': {
        const x = input();
        const p = Array.from(needConst(n, 1).dataSync(), Number);
        if (x.rank !== 4 || p[0] || p[1] || p[6] || p[7]) fail(n, 'only spatial padding of a 4-D tensor is supported');
        const value = n.op === 'PadV2' && n.inputs[2] ? data(needConst(n, 2))[0] : attr<number>(n, 'constantValue', 0);
        return { name: g.op('Pad', [x.name, g.ints('pads', [0, 0, p[2], p[4], 0, 0, p[3], p[5]]), g.floats('value', [value], [])]), rank: 4 };
      }
      case 'ConcatV2': {
        const xs = n.inputs.slice(0, -1).map(valueOf);
        const axis = Number(needConst(n, n.inputs.length - 1).dataSync()[0]);
        return { name: g.op('Concat', xs.map((v) => v.name), { axis: xs[0].rank === 4 ? nchwAxis(axis) : axis }), rank: xs[0].rank };
      }
      case 'Reshape': {
        const x = input();
        const shape = Array.from(needConst(n, 1).dataSync(), Number).map((d, i) => (i === 0 && d !== -1 ? 0 : d));
        return nchw({ name: g.op('Reshape', [toNhwc(g, x), g.ints('shape', shape)]), rank: shape.length });
      }
      case 'Squeeze': {
        const x = input();
        const axes = attr<number[]>(n, 'axis', []);
        if (!axes.length) fail(n, 'squeeze without axes');
        return nchw({ name: g.op('Squeeze', [toNhwc(g, x), g.ints('axes', axes)]), rank: x.rank - axes.length });
      }
      default:
        return fail(n, 'the op is not supported');
    }
  };

  const end = nodes[span.to];
  if (!end) throw new XaiLensError(`ONNX export: the TF.js graph has no node "${span.to}"`);
  return valueOf(end);
}
