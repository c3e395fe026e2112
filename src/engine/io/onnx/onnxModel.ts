/**
 * ONNX image classifiers executed as TensorFlow.js ops, so that every explainer (gradients included) works on them.
 *
 * The graph becomes a tfjs-layers functional model with one layer per ONNX node (class `OnnxNode`, named after the
 * node), so the explainers' probe sees every intermediate tensor by name and size, as with any layers model.
 *
 * Layout: ONNX CNNs are NCHW, the explainers and TensorFlow.js' conv kernels NHWC. Every 4-D tensor whose ONNX
 * (logical) layout is NCHW is *stored* NHWC (`nhwc: true`): an NCHW model input becomes an NHWC model input with no
 * transpose at all, spatial ops (Conv, pools, BatchNormalization, Resize, Pad) run natively, elementwise ops and
 * constants broadcast against them are transposed once at import, and axis arguments (Concat, Reduce*, Slice) are
 * mapped. Ops whose meaning depends on memory order (Reshape, Flatten, MatMul…) transpose back to NCHW inside their
 * own layer. An NHWC input followed by Transpose(0,3,1,2) (tf2onnx exports of Keras models) costs nothing either.
 *
 * Constant subgraphs (Shape → Gather → Concat → Reshape and the like) are evaluated at import; the batch dimension is
 * carried through them as a sentinel that Reshape replaces by the real batch size when it runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { onnx } from 'onnx-proto';
import { attributes, dataTypeName, decodeModel, num, tensorFromProto, type AttrValue } from './onnxProto';

/** Batch dimension inside shape arithmetic: Shape writes it, Reshape replaces it with the runtime batch size. */
const BATCH = -7777777;

export class OnnxImportError extends Error {}

interface ConstVal {
  kind: 'const';
  t: tf.Tensor;
}

interface SymVal {
  kind: 'sym';
  s: tf.SymbolicTensor;
  /** A 4-D tensor whose ONNX layout is NCHW, stored NHWC. */
  nhwc: boolean;
  /** The value at import for an all-zero batch of one (physical layout), for shapes and shape arithmetic. */
  example: tf.Tensor;
}

type Val = ConstVal | SymVal;

type Fn = (xs: tf.Tensor[], consts: tf.Tensor[]) => tf.Tensor;

interface OnnxNodeSpec {
  name: string;
  op: string;
  fn: Fn;
  constShapes: { shape: number[]; dtype: tf.DataType }[];
}

/**
 * One ONNX node. Its float constants (filters, biases, folded batch-norm factors) are the layer's weights, so
 * `countParams()` and `dispose()` see them; the output shape is the one measured at import.
 */
export class OnnxNode extends tf.layers.Layer {
  static className = 'OnnxNode';
  outShape: number[] = [];
  /** Multiply-accumulates per image of a Conv, Gemm or MatMul node (0 for the others), measured at import. */
  macsPerImage = 0;

  constructor(private readonly spec: OnnxNodeSpec) {
    super({ name: spec.name, trainable: false });
  }

  override build(): void {
    this.spec.constShapes.forEach((c, i) => this.addWeight(`c${i}`, c.shape, c.dtype, tf.initializers.zeros(), undefined, false));
    this.built = true;
  }

  override computeOutputShape(): tf.Shape {
    return [null, ...this.outShape.slice(1)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.spec.fn(Array.isArray(inputs) ? inputs : [inputs], this.weights.map((w) => w.read())));
  }

  /** What the model's cost (`countMacs`) counts for this node: explainers size their batches and samples by it. */
  macs(): number {
    return this.macsPerImage;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), op: this.spec.op };
  }
}

const toNhwcPerm = [0, 2, 3, 1];
const toNchwPerm = [0, 3, 1, 2];
/** Logical NCHW axis → physical NHWC axis. */
const physAxis = [0, 3, 1, 2];

function ints(v: AttrValue, fallback: number[] = []): number[] {
  return Array.isArray(v) ? (v as number[]) : fallback;
}

function intAttr(v: AttrValue, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function strAttr(v: AttrValue, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

function constInts(v: Val | undefined, what: string): number[] {
  if (!v) return [];
  if (v.kind !== 'const') throw new OnnxImportError(`${what} must be a constant`);
  return Array.from(v.t.dataSync(), Number);
}

function normAxis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

export interface OnnxImport {
  model: tf.LayersModel;
  /** How the ONNX input was laid out ('NCHW' models are fed NHWC images; the importer transposes nothing). */
  inputLayout: 'NCHW' | 'NHWC';
  inputName: string;
  outputName: string;
  opsetVersion: number;
  producer: string;
  /** Op types in the graph, sorted. */
  ops: string[];
  /** True when the graph ends in Softmax (its output is probabilities). */
  endsInSoftmax: boolean;
}

const SPATIAL_DEFAULT = 224;

/** The ONNX graph a model was imported from: the exporter hands ONNX Runtime this original rather than rebuilding
 * it from layers that only TF.js knows (OnnxNode). */
export interface OnnxSource {
  graph: onnx.IGraphProto;
  opsetImport: onnx.IOperatorSetIdProto[];
  irVersion: number;
  inputName: string;
  outputName: string;
  inputLayout: 'NCHW' | 'NHWC';
}

const sources = new WeakMap<tf.LayersModel, OnnxSource>();

/** The ONNX graph `model` was imported from (by `importOnnx`), if it was. */
export function onnxSourceOf(model: tf.LayersModel): OnnxSource | undefined {
  return sources.get(model);
}

/** Builds a TensorFlow.js model from ONNX bytes; errors are one line naming the problem (the caller adds the file). */
export function importOnnx(bytes: Uint8Array): OnnxImport {
  let proto: onnx.ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (e) {
    throw new OnnxImportError(`not a readable ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  const graph = proto.graph;
  if (!graph || !(graph.node ?? []).length) throw new OnnxImportError('not an ONNX model: no graph');
  const opsetVersion = Math.max(0, ...(proto.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => num(o.version)));
  const values = new Map<string, Val>();
  const created: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    created.push(t);
    return t;
  };

  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const init of graph.initializer ?? []) {
    if (init.dataLocation === 1) throw new OnnxImportError(`initializer "${init.name}" is stored in an external data file, which XAI Lens does not read`);
    try {
      values.set(init.name ?? '', { kind: 'const', t: keep(tensorFromProto(init)) });
    } catch (e) {
      throw new OnnxImportError(`weights are truncated or unreadable: ${(e as Error).message}`);
    }
  }
  const realInputs = (graph.input ?? []).filter((i) => !initNames.has(i.name ?? ''));
  if (realInputs.length !== 1) {
    throw new OnnxImportError(`takes ${realInputs.length} inputs (${realInputs.map((i) => i.name).join(', ')}); an image classifier takes one image`);
  }
  if ((graph.output ?? []).length !== 1) throw new OnnxImportError(`has ${(graph.output ?? []).length} outputs; an image classifier has one (class scores)`);
  const input = realInputs[0];
  const inDims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0 ? num(d.dimValue) : null));
  const elemType = input.type?.tensorType?.elemType ?? 1;
  if (elemType !== 1) throw new OnnxImportError(`input "${input.name}" is ${dataTypeName(elemType)}; image classifiers take FLOAT`);
  if (inDims.length !== 4) {
    throw new OnnxImportError(`input "${input.name}" has shape [${inDims.map((d) => d ?? '?').join(', ')}]; an image classifier takes a 4-D image batch`);
  }
  // NCHW unless the channel axis is clearly last (tf2onnx exports of Keras models).
  const small = (d: number | null) => d !== null && d <= 4;
  const inputLayout: 'NCHW' | 'NHWC' = small(inDims[3]) && !small(inDims[1]) ? 'NHWC' : 'NCHW';
  const [c, h, w] = inputLayout === 'NCHW' ? [inDims[1], inDims[2], inDims[3]] : [inDims[3], inDims[1], inDims[2]];
  if (c === null) throw new OnnxImportError(`input "${input.name}" has no fixed channel count`);
  const hw: [number, number] = [h ?? SPATIAL_DEFAULT, w ?? SPATIAL_DEFAULT];
  const image = tf.input({ shape: [hw[0], hw[1], c], name: 'input' });
  values.set(input.name ?? '', { kind: 'sym', s: image, nhwc: inputLayout === 'NCHW', example: keep(tf.zeros([1, hw[0], hw[1], c])) });

  const usedNames = new Set<string>(['input']);
  const layerName = (base: string): string => {
    let n = base.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.-]+/, '') || 'node';
    if (!/^[A-Za-z]/.test(n)) n = `n${n}`;
    let k = n;
    for (let i = 1; usedNames.has(k); i++) k = `${n}_${i}`;
    usedNames.add(k);
    return k;
  };

  const transposedIn = (v: SymVal, want: 'plain' | 'nhwc' | 'any', t: tf.Tensor): tf.Tensor => {
    if (want === 'plain' && v.nhwc) return tf.transpose(t, toNchwPerm);
    if (want === 'nhwc' && !v.nhwc) return tf.transpose(t, toNhwcPerm);
    return t;
  };

  let currentNode = '';
  /**
   * Adds one layer computing `fn` over symbolic inputs (each converted to the layout `want` asks for).
   * `macsPerOutput`: multiply-accumulates per output value, for nodes that count toward the model's cost.
   */
  const addSym = (op: string, ins: SymVal[], want: ('plain' | 'nhwc' | 'any')[], fn: Fn, consts: tf.Tensor[], nhwcOut: boolean, macsPerOutput = 0): SymVal => {
    const wrapped: Fn = (xs, cs) => fn(xs.map((x, i) => transposedIn(ins[i], want[i] ?? 'any', x)), cs);
    const layer = new OnnxNode({ name: layerName(currentNode || op), op, fn: wrapped, constShapes: consts.map((t) => ({ shape: t.shape, dtype: t.dtype })) });
    layer.build();
    if (consts.length) layer.setWeights(consts);
    const example = keep(layer.apply(ins.length === 1 ? ins[0].example : ins.map((i) => i.example)) as tf.Tensor);
    layer.outShape = example.shape;
    layer.macsPerImage = (macsPerOutput * example.size) / Math.max(1, example.shape[0] ?? 1);
    const s = layer.apply(ins.length === 1 ? ins[0].s : ins.map((i) => i.s)) as tf.SymbolicTensor;
    return { kind: 'sym', s, nhwc: nhwcOut && example.rank === 4, example };
  };

  /** Logical shape of a value (NCHW for stored-NHWC tensors). */
  const logicalShape = (v: Val): number[] => {
    if (v.kind === 'const') return v.t.shape;
    const s = v.example.shape;
    return v.nhwc ? toNchwPerm.map((p) => s[p]) : s;
  };

  /** A constant operand of an elementwise op with a stored-NHWC tensor: broadcast to rank 4, then stored NHWC. */
  const constFor = (t: tf.Tensor, other: SymVal): tf.Tensor => {
    if (!other.nhwc) return t;
    if (t.rank > 4) throw new OnnxImportError('a constant of rank > 4 meets a 4-D tensor');
    const r4 = t.rank === 4 ? t : tf.reshape(t, [...new Array<number>(4 - t.rank).fill(1), ...t.shape]);
    return keep(tf.transpose(r4, toNhwcPerm));
  };

  const ops = new Set<string>();
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    ops.add(op);
    currentNode = node.name || `${op}_${values.size}`;
    const a = attributes(node);
    const ins: (Val | undefined)[] = (node.input ?? []).map((n) => (n ? values.get(n) : undefined));
    (node.input ?? []).forEach((n, i) => {
      if (n && !ins[i]) throw new OnnxImportError(`node "${currentNode}" (${op}) reads "${n}", which nothing produces`);
    });
    const outs = node.output ?? [];
    let result: Val | Val[];
    try {
      result = lowerNode(op, a, ins);
    } catch (e) {
      if (e instanceof OnnxImportError) throw e;
      throw new OnnxImportError(`node "${currentNode}" (${op}) failed at import: ${(e as Error).message.split('\n')[0]}`);
    }
    const list = Array.isArray(result) ? result : [result];
    list.forEach((v, i) => {
      if (outs[i]) values.set(outs[i], v);
    });
  }

  function lowerNode(op: string, a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val | Val[] {
    const syms = ins.filter((v): v is SymVal => v?.kind === 'sym');
    // Constant subgraphs: evaluated now, in ONNX's own layout.
    if (syms.length === 0 && op !== 'Constant') {
      const consts = ins.map((v) => (v as ConstVal | undefined)?.t);
      return { kind: 'const', t: keep(tf.tidy(() => plainOp(op, a, consts, opsetVersion))) };
    }
    switch (op) {
      case 'Constant': {
        const t = a.get('value');
        if (t && typeof t === 'object' && !Array.isArray(t)) return { kind: 'const', t: keep(tensorFromProto(t)) };
        const f = a.get('value_float') ?? a.get('value_floats');
        if (f !== undefined) return { kind: 'const', t: keep(tf.tensor(f as number | number[], undefined, 'float32')) };
        const i = a.get('value_int') ?? a.get('value_ints');
        if (i !== undefined) return { kind: 'const', t: keep(tf.tensor(i as number | number[], undefined, 'int32')) };
        throw new OnnxImportError(`node "${currentNode}": Constant without a supported value`);
      }
      case 'Identity':
      case 'Dropout':
        return ins[0]!;
      case 'Shape': {
        const shape = logicalShape(ins[0]!).map((d, i) => (i === 0 ? BATCH : d));
        const start = normAxis(intAttr(a.get('start'), 0), shape.length);
        const endAttr = a.get('end');
        const end = endAttr === undefined ? shape.length : normAxis(intAttr(endAttr, shape.length), shape.length);
        return { kind: 'const', t: keep(tf.tensor1d(shape.slice(start, end), 'int32')) };
      }
      case 'Conv':
        return conv(a, ins);
      case 'BatchNormalization':
        return batchNorm(a, ins);
      case 'MaxPool':
      case 'AveragePool':
        return pool(op, a, ins[0] as SymVal);
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const x = ins[0] as SymVal;
        if (x.example.rank !== 4) throw new OnnxImportError(`node "${currentNode}": ${op} on a ${x.example.rank}-D tensor is not supported`);
        return addSym(op, [x], ['nhwc'], ([t]) => {
          const [, hh, ww] = t.shape;
          return op === 'GlobalAveragePool' ? tf.avgPool(t as tf.Tensor4D, [hh, ww], [hh, ww], 'valid') : tf.maxPool(t as tf.Tensor4D, [hh, ww], [hh, ww], 'valid');
        }, [], true);
      }
      case 'Relu': case 'LeakyRelu': case 'Sigmoid': case 'Tanh': case 'Elu': case 'Softplus': case 'Exp': case 'Log': case 'Sqrt':
      case 'Neg': case 'Abs': case 'Reciprocal': case 'Erf': case 'HardSigmoid': case 'HardSwish': case 'Selu': case 'Floor': case 'Ceil': case 'Round':
      case 'Clip': case 'Cast': {
        const x = ins[0] as SymVal;
        if (op === 'Cast' && intAttr(a.get('to'), 1) !== 1) throw new OnnxImportError(`node "${currentNode}": Cast of image data to ${dataTypeName(intAttr(a.get('to'), 0))} is not supported`);
        const clipMin = op === 'Clip' ? (ins[1] ? constInts(ins[1], 'Clip min')[0] : (a.get('min') as number | undefined)) : undefined;
        const clipMax = op === 'Clip' ? (ins[2] ? constInts(ins[2], 'Clip max')[0] : (a.get('max') as number | undefined)) : undefined;
        return addSym(op, [x], ['any'], ([t]) => unary(op, a, t, clipMin, clipMax), [], x.nhwc);
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min':
        return binary(op, ins as Val[]);
      case 'Sum': {
        if (ins.length === 1) return ins[0]!;
        let acc = binary('Add', [ins[0]!, ins[1]!]);
        for (const v of ins.slice(2)) acc = binary('Add', [acc, v!]);
        return acc;
      }
      case 'Gemm':
        return gemm(a, ins);
      case 'MatMul': {
        const [x, y] = ins as Val[];
        // Each output value of [.., M, K] · [K, N] takes K multiply-accumulates.
        if (x.kind === 'sym' && y.kind === 'const') return addSym(op, [x], ['plain'], ([t], [wt]) => tf.matMul(t, wt), [y.t], false, y.t.shape[y.t.rank - 2]);
        if (x.kind === 'const' && y.kind === 'sym') return addSym(op, [y], ['plain'], ([t], [wt]) => tf.matMul(wt, t), [x.t], false, x.t.shape[x.t.rank - 1]);
        return addSym(op, [x as SymVal, y as SymVal], ['plain', 'plain'], ([p, q]) => tf.matMul(p, q), [], false, logicalShape(x).at(-1));
      }
      case 'Flatten': {
        const x = ins[0] as SymVal;
        const axis = normAxis(intAttr(a.get('axis'), 1), x.example.rank);
        return addSym(op, [x], ['plain'], ([t]) => tf.reshape(t, [t.shape.slice(0, axis).reduce((p, d) => p * d, 1), -1]), [], false);
      }
      case 'Reshape': {
        const x = ins[0] as SymVal;
        const target = constInts(ins[1], 'Reshape shape');
        const allowZero = intAttr(a.get('allowzero'), 0) === 1;
        return addSym(op, [x], ['plain'], ([t]) => tf.reshape(t, target.map((d, i) => (d === BATCH ? t.shape[0] : d === 0 && !allowZero ? t.shape[i] : d))), [], false);
      }
      case 'Squeeze': {
        const x = ins[0] as SymVal;
        const rank = x.example.rank;
        let axes = (ins[1] ? constInts(ins[1], 'Squeeze axes') : ints(a.get('axes'))).map((v) => normAxis(v, rank));
        if (!axes.length) axes = logicalShape(x).map((d, i) => (i > 0 && d === 1 ? i : -1)).filter((i) => i >= 0);
        return addSym(op, [x], ['plain'], ([t]) => tf.squeeze(t, axes), [], false);
      }
      case 'Unsqueeze': {
        const x = ins[0] as SymVal;
        const outRank = x.example.rank + (ins[1] ? constInts(ins[1], 'Unsqueeze axes') : ints(a.get('axes'))).length;
        const axes = (ins[1] ? constInts(ins[1], 'Unsqueeze axes') : ints(a.get('axes'))).map((v) => normAxis(v, outRank)).sort((p, q) => p - q);
        return addSym(op, [x], ['plain'], ([t]) => axes.reduce((acc, ax) => tf.expandDims(acc, ax), t), [], false);
      }
      case 'Concat':
        return concat(a, ins as Val[]);
      case 'Transpose': {
        const x = ins[0] as SymVal;
        const perm = ints(a.get('perm'), [...Array(x.example.rank).keys()].reverse());
        // Re-labelling, no data movement: NHWC → (0,3,1,2) is the NCHW this importer stores NHWC, and back.
        if (!x.nhwc && x.example.rank === 4 && perm.join() === toNchwPerm.join()) return { ...x, nhwc: true };
        if (x.nhwc && perm.join() === toNhwcPerm.join()) return { ...x, nhwc: false };
        return addSym(op, [x], ['plain'], ([t]) => tf.transpose(t, perm), [], false);
      }
      case 'Softmax':
      case 'LogSoftmax': {
        const x = ins[0] as SymVal;
        const rank = x.example.rank;
        const axis = normAxis(intAttr(a.get('axis'), opsetVersion >= 13 ? -1 : 1), rank);
        if (op === 'Softmax' && rank === 2 && axis === 1 && !x.nhwc) {
          // A Keras-style softmax layer: the explainers take its input as the logits.
          const layer = tf.layers.activation({ activation: 'softmax', name: layerName(currentNode || op) });
          const example = keep(layer.apply(x.example) as tf.Tensor);
          return { kind: 'sym', s: layer.apply(x.s) as tf.SymbolicTensor, nhwc: false, example };
        }
        if (axis !== rank - 1) throw new OnnxImportError(`node "${currentNode}": ${op} over axis ${axis} of a ${rank}-D tensor is not supported`);
        return addSym(op, [x], ['plain'], ([t]) => (op === 'Softmax' ? tf.softmax(t) : tf.logSoftmax(t)), [], false);
      }
      case 'ReduceMean': case 'ReduceMax': case 'ReduceMin': case 'ReduceSum':
        return reduce(op, a, ins);
      case 'Pad':
        return pad(a, ins);
      case 'Resize':
      case 'Upsample':
        return resize(op, a, ins);
      case 'Slice':
        return slice(a, ins);
      case 'Gather': {
        const x = ins[0] as SymVal;
        if (ins[1]?.kind !== 'const') throw new OnnxImportError(`node "${currentNode}": Gather with computed indices is not supported`);
        const idx = ins[1].t;
        const axis = normAxis(intAttr(a.get('axis'), 0), x.example.rank);
        const scalar = idx.rank === 0;
        const flat = Array.from(idx.dataSync(), (v) => (v < 0 ? v + logicalShape(x)[axis] : v));
        return addSym(op, [x], ['plain'], ([t]) => {
          const g = tf.gather(t, tf.tensor1d(flat, 'int32'), axis);
          return scalar ? tf.squeeze(g, [axis]) : g;
        }, [], false);
      }
      case 'Expand': {
        const x = ins[0] as SymVal;
        const shape = constInts(ins[1], 'Expand shape');
        return addSym(op, [x], ['plain'], ([t]) => {
          const target = shape.map((d) => (d === BATCH ? t.shape[0] : d));
          const full = target.map((d, i) => Math.max(d, t.shape[i - (target.length - t.rank)] ?? 1));
          return tf.broadcastTo(t, full);
        }, [], false);
      }
      default:
        throw new OnnxImportError(`unsupported ONNX operator ${op} (node "${currentNode}")`);
    }
  }

  function conv(a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const W = ins[1];
    if (!W || W.kind !== 'const') throw new OnnxImportError(`node "${currentNode}": Conv with computed weights is not supported`);
    if (W.t.rank !== 4 || x.example.rank !== 4) throw new OnnxImportError(`node "${currentNode}": only 2-D convolutions are supported (weights of rank ${W.t.rank})`);
    const group = intAttr(a.get('group'), 1);
    const [m, cPerGroup, kh, kw] = W.t.shape;
    const cin = cPerGroup * group;
    const strides = ints(a.get('strides'), [1, 1]) as [number, number];
    const dil = ints(a.get('dilations'), [1, 1]) as [number, number];
    const autoPad = strAttr(a.get('auto_pad'), 'NOTSET');
    const pads = ints(a.get('pads'), [0, 0, 0, 0]);
    if (autoPad === 'SAME_LOWER') throw new OnnxImportError(`node "${currentNode}": Conv auto_pad SAME_LOWER is not supported`);
    // Explicit pads that equal TF.js' 'same' at this input size (every stride-1 convolution of a PyTorch CNN) need no
    // Pad op: a pad and, in gradients, its slice cost ~1 s of a 224×224×3 MobileNetV2's IG-50 on wasm.
    const padding = autoPad === 'SAME_UPPER' || samePads(logicalShape(x).slice(2, 4), [kh, kw], strides, dil, pads) ? 'same' : 'valid';
    const explicit = padding === 'valid' && pads.some((p) => p !== 0) ? ([[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]] as [number, number][]) : undefined;
    const bias = ins[2]?.kind === 'const' ? ins[2].t : undefined;
    const depthwise = group > 1 && group === cin && cPerGroup === 1;
    const filter = keep(tf.tidy(() => (depthwise ? tf.transpose(tf.reshape(W.t, [cin, m / cin, kh, kw]), [2, 3, 0, 1]) : tf.transpose(W.t, [2, 3, 1, 0]))));
    const consts = bias ? [filter, bias] : [filter];
    return addSym('Conv', [x], ['nhwc'], ([t], [f, b]) => {
      const xin = (explicit ? tf.pad(t, explicit) : t) as tf.Tensor4D;
      let y: tf.Tensor4D;
      if (group === 1) y = tf.conv2d(xin, f as tf.Tensor4D, strides, padding, 'NHWC', dil);
      else if (depthwise) y = tf.depthwiseConv2d(xin, f as tf.Tensor4D, strides, padding, 'NHWC', dil);
      else {
        const xs = tf.split(xin, group, 3);
        const fs = tf.split(f, group, 3);
        y = tf.concat(xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, fs[g] as tf.Tensor4D, strides, padding, 'NHWC', dil)), 3);
      }
      return b ? tf.add(y, b) : y;
    }, consts, true, cPerGroup * kh * kw);
  }

  function batchNorm(a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const [scale, bias, mean, variance] = ins.slice(1).map((v) => {
      if (v?.kind !== 'const') throw new OnnxImportError(`node "${currentNode}": BatchNormalization with computed statistics is not supported`);
      return v.t;
    });
    const eps = typeof a.get('epsilon') === 'number' ? (a.get('epsilon') as number) : 1e-5;
    const channelsLast = x.nhwc || x.example.rank === 2;
    const [mul, add] = tf.tidy(() => {
      const k = tf.div(scale, tf.sqrt(tf.add(variance, eps)));
      const b = tf.sub(bias, tf.mul(mean, k));
      const shape = channelsLast ? [-1] : [-1, ...new Array<number>(x.example.rank - 2).fill(1)];
      return [tf.reshape(k, shape), tf.reshape(b, shape)];
    });
    keep(mul);
    keep(add);
    return addSym('BatchNormalization', [x], ['any'], ([t], [k, b]) => tf.add(tf.mul(t, k), b), [mul, add], x.nhwc);
  }

  function pool(op: string, a: Map<string, AttrValue>, x: SymVal): Val {
    if (x.example.rank !== 4) throw new OnnxImportError(`node "${currentNode}": only 2-D pooling is supported`);
    const k = ints(a.get('kernel_shape')) as [number, number];
    const strides = ints(a.get('strides'), [1, 1]) as [number, number];
    const pads = ints(a.get('pads'), [0, 0, 0, 0]);
    const ceil = intAttr(a.get('ceil_mode'), 0) === 1;
    const includePad = intAttr(a.get('count_include_pad'), 0) === 1;
    const autoPad = strAttr(a.get('auto_pad'), 'NOTSET');
    if (ints(a.get('dilations'), [1, 1]).some((d) => d !== 1)) throw new OnnxImportError(`node "${currentNode}": dilated ${op} is not supported`);
    if (autoPad === 'SAME_LOWER') throw new OnnxImportError(`node "${currentNode}": ${op} auto_pad SAME_LOWER is not supported`);
    const max = op === 'MaxPool';
    const [, , ih, iw] = logicalShape(x);
    // ceil_mode: the output size as ONNX (and PyTorch) define it; the windows past the end are made explicit padding,
    // since the wasm kernels size their output by flooring.
    const outSize = (n: number, kk: number, s: number, p0: number, p1: number) => {
      if (!ceil) return Math.floor((n + p0 + p1 - kk) / s) + 1;
      let o = Math.ceil((n + p0 + p1 - kk) / s) + 1;
      if ((o - 1) * s >= n + p0) o--;
      return o;
    };
    const oh = outSize(ih, k[0], strides[0], pads[0], pads[2]);
    const ow = outSize(iw, k[1], strides[1], pads[1], pads[3]);
    const extraH = Math.max(0, (oh - 1) * strides[0] + k[0] - (ih + pads[0] + pads[2]));
    const extraW = Math.max(0, (ow - 1) * strides[1] + k[1] - (iw + pads[1] + pads[3]));
    if (!max && (extraH || extraW)) throw new OnnxImportError(`node "${currentNode}": AveragePool with ceil_mode windows past the input is not supported`);
    const full = [pads[0], pads[1], pads[2] + extraH, pads[3] + extraW];
    const symmetric = full[0] === full[2] && full[1] === full[3] && full[0] === full[1];
    return addSym(op, [x], ['nhwc'], ([t]) => {
      const x4 = t as tf.Tensor4D;
      const run = (xin: tf.Tensor4D, p: 'valid' | 'same' | number) => (max ? tf.maxPool(xin, k, strides, p) : tf.avgPool(xin, k, strides, p));
      if (autoPad === 'SAME_UPPER') return run(x4, 'same');
      if (!full.some((p) => p !== 0)) return run(x4, 'valid');
      // Padding that the window average must count, or that is not the same on every side, is made explicit.
      if (!symmetric || (includePad && !max)) {
        const padded = tf.pad(x4, [[0, 0], [full[0], full[2]], [full[1], full[3]], [0, 0]], max ? -3.4e38 : 0);
        return run(padded, 'valid');
      }
      return run(x4, full[0]);
    }, [], true);
  }

  function unary(op: string, a: Map<string, AttrValue>, t: tf.Tensor, clipMin?: number, clipMax?: number): tf.Tensor {
    const f = (name: string, d: number) => (typeof a.get(name) === 'number' ? (a.get(name) as number) : d);
    switch (op) {
      case 'Relu': return tf.relu(t);
      case 'LeakyRelu': return tf.leakyRelu(t, f('alpha', 0.01));
      case 'Sigmoid': return tf.sigmoid(t);
      case 'Tanh': return tf.tanh(t);
      case 'Elu': return f('alpha', 1) === 1 ? tf.elu(t) : tf.where(tf.greater(t, 0), t, tf.mul(f('alpha', 1), tf.sub(tf.exp(t), 1)));
      case 'Selu': return tf.selu(t);
      case 'Softplus': return tf.softplus(t);
      case 'Exp': return tf.exp(t);
      case 'Log': return tf.log(t);
      case 'Sqrt': return tf.sqrt(t);
      case 'Neg': return tf.neg(t);
      case 'Abs': return tf.abs(t);
      case 'Reciprocal': return tf.reciprocal(t);
      case 'Erf': return tf.erf(t);
      case 'Floor': return tf.floor(t);
      case 'Ceil': return tf.ceil(t);
      case 'Round': return tf.round(t);
      case 'Cast': return t;
      case 'HardSigmoid': return tf.clipByValue(tf.add(tf.mul(t, f('alpha', 0.2)), f('beta', 0.5)), 0, 1);
      case 'HardSwish': return tf.mul(t, tf.clipByValue(tf.add(tf.mul(t, 1 / 6), 0.5), 0, 1));
      case 'Clip': {
        const lo = clipMin ?? -3.4e38;
        const hi = clipMax ?? 3.4e38;
        return lo === 0 && hi === 6 ? tf.relu6(t) : lo === 0 && hi >= 3.4e38 ? tf.relu(t) : tf.clipByValue(t, lo, hi);
      }
      default: throw new OnnxImportError(`unsupported ONNX operator ${op}`);
    }
  }

  function binary(op: string, ins: Val[]): Val {
    const [p, q] = ins;
    const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => {
      switch (op) {
        case 'Add': return tf.add(x, y);
        case 'Sub': return tf.sub(x, y);
        case 'Mul': return tf.mul(x, y);
        case 'Div': return tf.div(x, y);
        case 'Pow': return tf.pow(x, y);
        case 'Max': return tf.maximum(x, y);
        default: return tf.minimum(x, y);
      }
    };
    if (p.kind === 'sym' && q.kind === 'const') {
      const c = constFor(q.t.dtype === 'int32' ? keep(tf.cast(q.t, 'float32')) : q.t, p);
      return addSym(op, [p], ['any'], ([t], [k]) => f(t, k), [c], p.nhwc);
    }
    if (p.kind === 'const' && q.kind === 'sym') {
      const c = constFor(p.t.dtype === 'int32' ? keep(tf.cast(p.t, 'float32')) : p.t, q);
      return addSym(op, [q], ['any'], ([t], [k]) => f(k, t), [c], q.nhwc);
    }
    const [x, y] = [p as SymVal, q as SymVal];
    const bothNhwc = (x.nhwc || x.example.rank === 4) && (y.nhwc || y.example.rank === 4) && (x.nhwc || y.nhwc);
    const want = bothNhwc ? 'nhwc' : 'plain';
    return addSym(op, [x, y], [want, want], ([s, t]) => f(s, t), [], bothNhwc);
  }

  function gemm(a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const B = ins[1];
    if (!B || B.kind !== 'const') throw new OnnxImportError(`node "${currentNode}": Gemm with computed weights is not supported`);
    if (intAttr(a.get('transA'), 0)) throw new OnnxImportError(`node "${currentNode}": Gemm with transA is not supported`);
    const alpha = typeof a.get('alpha') === 'number' ? (a.get('alpha') as number) : 1;
    const beta = typeof a.get('beta') === 'number' ? (a.get('beta') as number) : 1;
    const w = keep(tf.tidy(() => tf.mul(intAttr(a.get('transB'), 0) ? tf.transpose(B.t) : B.t, alpha)));
    const C = ins[2]?.kind === 'const' ? keep(tf.tidy(() => tf.mul((ins[2] as ConstVal).t, beta))) : undefined;
    return addSym('Gemm', [x], ['plain'], ([t], [k, b]) => (b ? tf.add(tf.matMul(t, k), b) : tf.matMul(t, k)), C ? [w, C] : [w], false, w.shape[0]);
  }

  function concat(a: Map<string, AttrValue>, ins: Val[]): Val {
    const symIns = ins.filter((v): v is SymVal => v.kind === 'sym');
    const rank = symIns[0].example.rank;
    const axis = normAxis(intAttr(a.get('axis'), 0), rank);
    const allNhwc = ins.every((v) => v.kind === 'sym' && v.nhwc);
    const consts = ins.filter((v): v is ConstVal => v.kind === 'const').map((v) => v.t);
    const order: { sym?: number; c?: number }[] = ins.map((v) => (v.kind === 'sym' ? { sym: symIns.indexOf(v) } : { c: consts.indexOf(v.t) }));
    const physical = allNhwc ? physAxis[axis] : axis;
    return addSym('Concat', symIns, symIns.map(() => (allNhwc ? 'nhwc' : 'plain')), (xs, cs) => {
      const parts = order.map((o) => (o.sym !== undefined ? xs[o.sym] : tf.broadcastTo(cs[o.c!], cs[o.c!].shape.map((d, i) => (i === axis ? d : xs[0].shape[i])))));
      return tf.concat(parts, physical);
    }, consts, allNhwc);
  }

  function reduce(op: string, a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const rank = x.example.rank;
    const axesIn = ins[1] ? constInts(ins[1], `${op} axes`) : ints(a.get('axes'));
    const axes = (axesIn.length ? axesIn : [...Array(rank).keys()]).map((v) => normAxis(v, rank));
    const keepDims = intAttr(a.get('keepdims'), 1) === 1;
    const f = (t: tf.Tensor, ax: number[], kd: boolean): tf.Tensor =>
      op === 'ReduceMean' ? tf.mean(t, ax, kd) : op === 'ReduceMax' ? tf.max(t, ax, kd) : op === 'ReduceMin' ? tf.min(t, ax, kd) : tf.sum(t, ax, kd);
    if (x.nhwc) {
      const phys = axes.map((ax) => physAxis[ax]);
      if (keepDims) return addSym(op, [x], ['nhwc'], ([t]) => f(t, phys, true), [], true);
      // Reduce where the data lies, then drop the reduced axes in ONNX's order.
      return addSym(op, [x], ['nhwc'], ([t]) => tf.squeeze(tf.transpose(f(t, phys, true), toNchwPerm), axes), [], false);
    }
    return addSym(op, [x], ['plain'], ([t]) => f(t, axes, keepDims), [], false);
  }

  function pad(a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const rank = x.example.rank;
    const pads = ins[1] ? constInts(ins[1], 'Pad pads') : ints(a.get('pads'));
    const value = ins[2] ? (ins[2] as ConstVal).t.dataSync()[0] : typeof a.get('value') === 'number' ? (a.get('value') as number) : 0;
    const mode = strAttr(a.get('mode'), 'constant');
    if (pads.some((p) => p < 0)) throw new OnnxImportError(`node "${currentNode}": Pad with negative pads (cropping) is not supported`);
    if (mode !== 'constant' && mode !== 'reflect') throw new OnnxImportError(`node "${currentNode}": Pad mode "${mode}" is not supported`);
    const logical: [number, number][] = Array.from({ length: rank }, (_, i) => [pads[i], pads[i + rank]]);
    const paddings = x.nhwc ? toNhwcPerm.map((p) => logical[p]) : logical;
    return addSym('Pad', [x], ['any'], ([t]) => (mode === 'reflect' ? tf.mirrorPad(t, paddings, 'reflect') : tf.pad(t, paddings, value)), [], x.nhwc);
  }

  function resize(op: string, a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    if (x.example.rank !== 4) throw new OnnxImportError(`node "${currentNode}": ${op} of a ${x.example.rank}-D tensor is not supported`);
    const [, , ih, iw] = logicalShape(x);
    const scalesVal = op === 'Upsample' ? ins[1] : opsetVersion >= 11 ? ins[2] : ins[1];
    const sizesVal = op === 'Resize' && opsetVersion >= 11 ? ins[3] : undefined;
    let oh: number;
    let ow: number;
    const sizes = sizesVal && sizesVal.kind === 'const' && sizesVal.t.size ? Array.from(sizesVal.t.dataSync()) : undefined;
    const scales = scalesVal && scalesVal.kind === 'const' && scalesVal.t.size ? Array.from(scalesVal.t.dataSync()) : ints(a.get('scales'));
    if (sizes) [oh, ow] = [sizes[2], sizes[3]];
    else if (scales.length === 4) {
      if (scales[0] !== 1 || scales[1] !== 1) throw new OnnxImportError(`node "${currentNode}": ${op} that scales the batch or channel axis is not supported`);
      [oh, ow] = [Math.floor(ih * scales[2]), Math.floor(iw * scales[3])];
    } else throw new OnnxImportError(`node "${currentNode}": ${op} needs constant scales or sizes`);
    const mode = strAttr(a.get('mode'), 'nearest');
    const coord = strAttr(a.get('coordinate_transformation_mode'), op === 'Upsample' || opsetVersion < 11 ? 'asymmetric' : 'half_pixel');
    const nearestMode = strAttr(a.get('nearest_mode'), 'round_prefer_floor');
    let alignCorners = false;
    let halfPixel = false;
    if (mode === 'nearest') {
      if (coord === 'asymmetric' && (nearestMode === 'floor' || op === 'Upsample' || opsetVersion < 11)) halfPixel = false;
      else if (coord === 'tf_half_pixel_for_nn') halfPixel = true;
      else if (coord === 'align_corners' && nearestMode === 'round_prefer_ceil') alignCorners = true;
      else if (oh % ih === 0 && ow % iw === 0 && (coord === 'asymmetric' || coord === 'half_pixel' || coord === 'pytorch_half_pixel')) halfPixel = false;
      else throw new OnnxImportError(`node "${currentNode}": Resize nearest with ${coord}/${nearestMode} is not supported`);
    } else if (mode === 'linear') {
      if (coord === 'half_pixel' || coord === 'pytorch_half_pixel') halfPixel = true;
      else if (coord === 'align_corners') alignCorners = true;
      else if (coord !== 'asymmetric') throw new OnnxImportError(`node "${currentNode}": Resize linear with ${coord} is not supported`);
    } else throw new OnnxImportError(`node "${currentNode}": Resize mode "${mode}" is not supported`);
    return addSym(op, [x], ['nhwc'], ([t]) =>
      mode === 'nearest'
        ? tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [oh, ow], alignCorners, halfPixel)
        : tf.image.resizeBilinear(t as tf.Tensor4D, [oh, ow], alignCorners, halfPixel), [], true);
  }

  function slice(a: Map<string, AttrValue>, ins: (Val | undefined)[]): Val {
    const x = ins[0] as SymVal;
    const shape = logicalShape(x);
    const rank = shape.length;
    const starts = ins[1] ? constInts(ins[1], 'Slice starts') : ints(a.get('starts'));
    const ends = ins[2] ? constInts(ins[2], 'Slice ends') : ints(a.get('ends'));
    const axes = (ins[3] ? constInts(ins[3], 'Slice axes') : ints(a.get('axes'), starts.map((_, i) => i))).map((v) => normAxis(v, rank));
    const steps = ins[4] ? constInts(ins[4], 'Slice steps') : starts.map(() => 1);
    const picks = axes.map((ax, i) => {
      if (ax === 0) throw new OnnxImportError(`node "${currentNode}": Slice along the batch axis is not supported`);
      return { ax: x.nhwc ? physAxis[ax] : ax, idx: sliceIndices(shape[ax], starts[i], ends[i], steps[i]) };
    });
    return addSym('Slice', [x], ['any'], ([t]) => picks.reduce((acc, p) => takeIndices(acc, p.ax, p.idx), t), [], x.nhwc);
  }

  try {
    const outName = graph.output![0].name ?? '';
    let out = values.get(outName);
    if (!out) throw new OnnxImportError(`output "${outName}" is produced by no node`);
    if (out.kind !== 'sym') throw new OnnxImportError('the output does not depend on the input image');
    if (out.nhwc) {
      const o = out;
      out = addSym('Transpose', [o], ['plain'], ([t]) => t, [], false);
    }
    const outShape = logicalShape(out);
    if (outShape.length !== 2) {
      throw new OnnxImportError(`output "${outName}" has shape [${outShape.map((d, i) => (i === 0 ? 'N' : d)).join(', ')}]; an image classifier outputs [N, classes]`);
    }
    const model = tf.model({ inputs: image, outputs: out.s, name: (graph.name || 'onnx').replace(/[^A-Za-z0-9_.-]+/g, '_') });
    const last = (graph.node ?? []).filter((n) => (n.output ?? []).includes(outName))[0];
    sources.set(model, { graph, opsetImport: proto.opsetImport ?? [], irVersion: num(proto.irVersion), inputName: input.name ?? '', outputName: outName, inputLayout });
    return {
      model,
      inputLayout,
      inputName: input.name ?? '',
      outputName: outName,
      opsetVersion,
      producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
      ops: [...ops].sort(),
      endsInSoftmax: last?.opType === 'Softmax',
    };
  } finally {
    for (const t of created) t.dispose();
  }
}

/** An op over constants only (shape arithmetic), in ONNX's layout. */
function plainOp(op: string, a: Map<string, AttrValue>, xs: (tf.Tensor | undefined)[], opset: number): tf.Tensor {
  const x = xs[0]!;
  const axisAttr = (d: number) => (typeof a.get('axis') === 'number' ? (a.get('axis') as number) : d);
  const intsOf = (t: tf.Tensor | undefined) => (t ? Array.from(t.dataSync(), Number) : []);
  const f32 = (t: tf.Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
  const same = (p: tf.Tensor, q: tf.Tensor): [tf.Tensor, tf.Tensor] => (p.dtype === q.dtype ? [p, q] : [f32(p), f32(q)]);
  switch (op) {
    case 'Identity':
    case 'Dropout':
      return tf.clone(x);
    case 'Cast': {
      const to = typeof a.get('to') === 'number' ? (a.get('to') as number) : 1;
      return to === 1 || to === 10 || to === 11 ? f32(x) : x.dtype === 'int32' ? tf.clone(x) : tf.cast(tf.floor(x), 'int32');
    }
    case 'Gather': {
      const idx = xs[1]!;
      const axis = normAxis(axisAttr(0), x.rank);
      const flat = Array.from(idx.dataSync(), (v) => (v < 0 ? v + x.shape[axis] : v));
      const g = tf.gather(x, tf.tensor1d(flat, 'int32'), axis);
      return idx.rank === 0 ? tf.squeeze(g, [axis]) : tf.reshape(g, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)]);
    }
    case 'Unsqueeze': {
      const axes = (xs[1] ? intsOf(xs[1]) : ints(a.get('axes'))).map((v) => normAxis(v, x.rank + (xs[1] ? intsOf(xs[1]) : ints(a.get('axes'))).length)).sort((p, q) => p - q);
      return axes.reduce((acc, ax) => tf.expandDims(acc, ax), x);
    }
    case 'Squeeze': {
      const axes = (xs[1] ? intsOf(xs[1]) : ints(a.get('axes'))).map((v) => normAxis(v, x.rank));
      return tf.squeeze(x, axes.length ? axes : undefined);
    }
    case 'Concat': {
      const parts = xs.filter((t): t is tf.Tensor => !!t);
      const anyFloat = parts.some((t) => t.dtype === 'float32');
      return tf.concat(parts.map((t) => (anyFloat ? f32(t) : t)), normAxis(axisAttr(0), x.rank));
    }
    case 'Reshape': {
      const target = intsOf(xs[1]).map((d, i) => (d === 0 ? x.shape[i] : d));
      return tf.reshape(x, target);
    }
    case 'Flatten': {
      const axis = normAxis(axisAttr(1), x.rank);
      return tf.reshape(x, [x.shape.slice(0, axis).reduce((p, d) => p * d, 1), -1]);
    }
    case 'Transpose':
      return tf.transpose(x, ints(a.get('perm')).length ? ints(a.get('perm')) : undefined);
    case 'Slice': {
      const starts = xs[1] ? intsOf(xs[1]) : ints(a.get('starts'));
      const ends = xs[2] ? intsOf(xs[2]) : ints(a.get('ends'));
      const axes = (xs[3] ? intsOf(xs[3]) : ints(a.get('axes'), starts.map((_, i) => i))).map((v) => normAxis(v, x.rank));
      const steps = xs[4] ? intsOf(xs[4]) : starts.map(() => 1);
      return axes.reduce((acc, ax, i) => takeIndices(acc, ax, sliceIndices(x.shape[ax], starts[i], ends[i], steps[i])), x);
    }
    case 'ConstantOfShape': {
      const v = a.get('value');
      const t = v && typeof v === 'object' && !Array.isArray(v) ? tensorFromProto(v) : tf.scalar(0, 'float32');
      return tf.fill(intsOf(x), t.dataSync()[0], t.dtype);
    }
    case 'Range': {
      const [s, l, d] = xs.map((t) => t!.dataSync()[0]);
      return tf.range(s, l, d, x.dtype === 'int32' ? 'int32' : 'float32');
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Equal': case 'Less': case 'Greater': case 'Max': case 'Min': case 'Pow': {
      const [p, q] = same(x, xs[1]!);
      if (op === 'Div' && p.dtype === 'int32') return tf.floorDiv(p, q);
      const r = op === 'Add' ? tf.add(p, q) : op === 'Sub' ? tf.sub(p, q) : op === 'Mul' ? tf.mul(p, q) : op === 'Div' ? tf.div(p, q)
        : op === 'Max' ? tf.maximum(p, q) : op === 'Min' ? tf.minimum(p, q) : op === 'Pow' ? tf.pow(p, q)
        : op === 'Equal' ? tf.equal(p, q) : op === 'Less' ? tf.less(p, q) : tf.greater(p, q);
      return r.dtype === 'bool' ? tf.cast(r, 'int32') : r;
    }
    case 'Where':
      return tf.where(tf.cast(x, 'bool'), ...same(xs[1]!, xs[2]!));
    case 'Not':
      return tf.cast(tf.logicalNot(tf.cast(x, 'bool')), 'int32');
    case 'Neg':
      return tf.neg(x);
    case 'Sqrt':
      return tf.sqrt(f32(x));
    case 'Expand':
      return tf.broadcastTo(x, intsOf(xs[1]).map((d, i, all) => Math.max(d, x.shape[i - (all.length - x.rank)] ?? 1)));
    case 'Shape':
      return tf.tensor1d(x.shape, 'int32');
    case 'Size':
      return tf.scalar(x.size, 'int32');
    default:
      throw new OnnxImportError(`unsupported ONNX operator ${op} (on constants, opset ${opset})`);
  }
}

/** Whether ONNX `pads` ([top, left, bottom, right]) are what TF.js' 'same' padding adds for this input size. */
export function samePads(size: number[], kernel: number[], strides: number[], dilations: number[], pads: number[]): boolean {
  return [0, 1].every((i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    const total = Math.max((Math.ceil(size[i] / strides[i]) - 1) * strides[i] + span - size[i], 0);
    return pads[i] === Math.floor(total / 2) && pads[i + 2] === total - Math.floor(total / 2);
  });
}

/** The indices ONNX Slice takes along one axis of size d (negative starts/ends count from the end; clamped). */
export function sliceIndices(d: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new OnnxImportError('Slice with step 0');
  const norm = (v: number) => (v < 0 ? v + d : v);
  const out: number[] = [];
  if (step > 0) {
    const b = Math.max(0, Math.min(d, norm(start)));
    const e = Math.max(0, Math.min(d, norm(end)));
    for (let i = b; i < e; i += step) out.push(i);
  } else {
    const b = Math.max(-1, Math.min(d - 1, norm(start)));
    const e = Math.max(-1, Math.min(d - 1, norm(end)));
    for (let i = b; i > e; i += step) out.push(i);
  }
  return out;
}

/** Selects indices along an axis: a contiguous run as a slice (whose gradient every backend has), else a gather. */
function takeIndices(t: tf.Tensor, axis: number, idx: number[]): tf.Tensor {
  const contiguous = idx.every((v, i) => i === 0 || v === idx[i - 1] + 1);
  if (idx.length && contiguous) {
    const begin = t.shape.map((_, i) => (i === axis ? idx[0] : 0));
    const size = t.shape.map((d, i) => (i === axis ? idx.length : -1));
    return tf.slice(t, begin, size);
  }
  return tf.gather(t, tf.tensor1d(idx, 'int32'), axis);
}
