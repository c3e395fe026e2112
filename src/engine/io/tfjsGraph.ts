/**
 * TensorFlow.js graph models (tfjs-converter output: `model.json` with `format: "graph-model"`) as a tfjs-layers
 * model, so that every explainer works on them.
 *
 * The graph is cut at its 4-D *articulation* tensors: nodes that every path from the input to the output passes
 * through (each block output of a MobileNet, the last conv). Each piece between two cuts becomes one layer
 * (`GraphSegment`) that runs `GraphModel.execute` from the previous cut to the next, so the explainers' probe sees
 * every cut by name and size, a value added at a cut reaches the whole rest of the graph, and gradients flow through
 * TensorFlow.js' own op implementations. 4-D tensors that are not cuts (inside a residual block) are not offered as
 * CAM layers.
 */
import * as tf from '@tensorflow/tfjs';

/** A node of tfjs-converter's executor graph (not public API, read through `executorGraph`). */
export interface GraphNode {
  name: string;
  op: string;
  inputs: GraphNode[];
  /** `name` or `name:k` for a node's k-th output. */
  inputNames: string[];
  children: GraphNode[];
  attrParams: Record<string, { value: unknown } | undefined>;
}

interface ExecutorGraph {
  nodes: Record<string, GraphNode>;
  inputs: GraphNode[];
  outputs: GraphNode[];
}

export class GraphImportError extends Error {}

/** One piece of a graph model: from the tensor `from` (the model input or a cut) to the tensor `to`. */
export class GraphSegment extends tf.layers.Layer {
  static className = 'GraphSegment';
  outShape: number[] = [];
  /** Multiply-accumulates per image: the whole graph's on the first segment, 0 on the others. */
  macsPerImage = 0;
  /** Values per image that the graph's ops produce (measured), likewise on the first segment: the memory estimate
   * (explain/budget.ts) must see the tensors inside the segments, not only the cuts between them. */
  valuesPerImage = 0;

  constructor(
    private readonly graph: tf.GraphModel,
    private readonly from: string,
    private readonly to: string,
    name: string,
    /** The first segment owns the graph model's weights and frees them with the layers model. */
    private readonly ownsGraph: boolean,
  ) {
    super({ name, trainable: false });
  }

  override computeOutputShape(): tf.Shape {
    return [null, ...this.outShape.slice(1)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.graph.execute({ [this.from]: x }, this.to) as tf.Tensor;
  }

  /** What the model's cost (`countMacs`) counts for this layer: explainers size their batches and samples by it. */
  macs(): number {
    return this.macsPerImage;
  }

  innerValues(): number {
    return this.valuesPerImage;
  }

  /** The graph this segment runs, between two node names: what the ONNX exporter translates. */
  span(): { graph: tf.GraphModel; from: string; to: string } {
    return { graph: this.graph, from: this.from.split(':')[0], to: this.to.split(':')[0] };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), from: this.from, to: this.to };
  }

  override dispose(): tf.serialization.ConfigDict & { refCountAfterDispose: number; numDisposedVariables: number } {
    const r = super.dispose();
    if (this.ownsGraph) this.graph.dispose();
    return r as tf.serialization.ConfigDict & { refCountAfterDispose: number; numDisposedVariables: number };
  }
}

export function executorGraph(gm: tf.GraphModel): ExecutorGraph {
  const g = (gm as unknown as { executor?: { graph?: ExecutorGraph } }).executor?.graph;
  if (!g || !g.nodes) throw new GraphImportError('this TensorFlow.js version does not expose the graph structure');
  return g;
}

const NO_DATA = new Set(['Const', 'Placeholder', 'NoOp']);

const CONVS = new Set(['Conv2D', '_FusedConv2D']);
const DEPTHWISE = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);
const MATMULS = new Set(['MatMul', '_FusedMatMul']);

/**
 * Per image, what the graph's ops cost, from each one's output shape (measured on one image) and its weights' shape:
 * multiply-accumulates of its convolutions and matrix products (out·kh·kw·cin, out·kh·kw depthwise, out·K), and the
 * values every op produces (what the memory estimate counts).
 */
function graphCost(nodes: GraphNode[], shapes: Map<string, number[]>, weights: Record<string, tf.Tensor[] | undefined>): { macs: number; values: number } {
  let macs = 0;
  let values = 0;
  for (const n of nodes) {
    const out = shapes.get(n.name);
    if (!out) continue;
    const size = out.slice(1).reduce((a, d) => a * d, 1);
    values += size;
    const kernel = n.inputs[1] && weights[n.inputs[1].name]?.[0]?.shape;
    if (!kernel) continue;
    if (CONVS.has(n.op) && kernel.length === 4) macs += size * kernel[0] * kernel[1] * kernel[2];
    else if (DEPTHWISE.has(n.op) && kernel.length === 4) macs += size * kernel[0] * kernel[1];
    else if (MATMULS.has(n.op) && kernel.length === 2) macs += size * (kernel[0] * kernel[1] / out[out.length - 1]);
  }
  return { macs, values };
}

export interface GraphImport {
  model: tf.LayersModel;
  params: number;
  inputName: string;
  endsInSoftmax: boolean;
  ops: string[];
  /** 4-D tensors offered as CAM layers. */
  cuts: number;
}

/** Wraps a loaded graph model; `inputShape` fills unknown input dimensions ([h, w, c]). */
export function wrapGraphModel(gm: tf.GraphModel, modelName: string, inputShape?: [number, number, number]): GraphImport {
  if (gm.inputs.length !== 1) throw new GraphImportError(`takes ${gm.inputs.length} inputs (${gm.inputs.map((i) => i.name).join(', ')}); an image classifier takes one image`);
  if (gm.outputs.length !== 1) throw new GraphImportError(`has ${gm.outputs.length} outputs; an image classifier has one (class scores)`);
  const inp = gm.inputs[0];
  const shape = inp.shape ?? [];
  if (shape.length !== 4) throw new GraphImportError(`input "${inp.name}" has shape [${shape.join(', ')}]; an image classifier takes a 4-D image batch [N, H, W, C]`);
  if (inp.dtype && inp.dtype !== 'float32') throw new GraphImportError(`input "${inp.name}" is ${inp.dtype}; image classifiers take float32`);
  const hwc = shape.slice(1).map((d, i) => (d && d > 0 ? d : inputShape?.[i] ?? (i < 2 ? 224 : 3))) as [number, number, number];
  const graph = executorGraph(gm);
  const inputName = inp.name.split(':')[0];
  const outName = gm.outputs[0].name.split(':')[0];
  const inputNode = graph.nodes[inputName];
  let outNode = graph.nodes[outName];
  if (!inputNode || !outNode) throw new GraphImportError('the graph does not name its input or output node');
  // Identity tails (converter output) lead to the real output op.
  while (outNode.op === 'Identity' && outNode.inputs.length === 1 && !NO_DATA.has(outNode.inputs[0].op)) outNode = outNode.inputs[0];
  const endsInSoftmax = outNode.op === 'Softmax';
  const scoresNode = endsInSoftmax ? outNode.inputs.find((n) => !NO_DATA.has(n.op)) ?? outNode : outNode;

  // Data nodes reachable from the input, in topological order.
  const reach = new Set<GraphNode>();
  const stack = [inputNode];
  while (stack.length) {
    const n = stack.pop()!;
    if (reach.has(n)) continue;
    reach.add(n);
    // Const children are control dependencies of the input (converter output), not data flow.
    for (const c of n.children) if (!NO_DATA.has(c.op)) stack.push(c);
  }
  const indeg = new Map<GraphNode, number>();
  for (const n of reach) indeg.set(n, n.inputs.filter((i) => reach.has(i)).length);
  const order: GraphNode[] = [];
  const ready = [inputNode];
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const c of n.children) {
      if (!reach.has(c) || NO_DATA.has(c.op)) continue;
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) ready.push(c);
    }
  }
  const position = new Map(order.map((n, i) => [n, i]));
  if (!position.has(scoresNode)) throw new GraphImportError('the output does not depend on the input image');
  const before = order.slice(1, position.get(scoresNode));

  // Shapes of every candidate, measured on one zero image.
  const names = before.filter((n) => !NO_DATA.has(n.op)).map((n) => n.name);
  const shapes = new Map<string, number[]>();
  tf.tidy(() => {
    const outs = gm.execute({ [inp.name]: tf.zeros([1, ...hwc]) }, [...names, scoresNode.name]) as tf.Tensor[];
    outs.forEach((t, i) => shapes.set(i < names.length ? names[i] : scoresNode.name, t.shape));
  });
  const scoresShape = shapes.get(scoresNode.name)!;
  if (scoresShape.length !== 2) {
    throw new GraphImportError(`output "${gm.outputs[0].name}" has shape [${scoresShape.map((d, i) => (i === 0 ? 'N' : d)).join(', ')}]; an image classifier outputs [N, classes]`);
  }

  // A cut: removing it disconnects the input from the scores.
  const isCut = (cut: GraphNode): boolean => {
    const seen = new Set<GraphNode>([cut]);
    const st = [inputNode];
    while (st.length) {
      const n = st.pop()!;
      if (n === scoresNode) return false;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const c of n.children) if (reach.has(c) && !NO_DATA.has(c.op)) st.push(c);
    }
    return true;
  };
  const cuts = before.filter((n) => shapes.get(n.name)?.length === 4 && isCut(n));

  const used = new Set<string>(['input']);
  const layerName = (n: string): string => {
    const parts = n.split('/').filter((p) => !/^StatefulPartitionedCall(_\d+)?$|^(sequential|model|functional)(_\d+)?$|^keras_layer$|^predict$/.test(p));
    let base = (parts.slice(-3).join('_') || n).replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.-]+/, '') || 'node';
    if (!/^[A-Za-z]/.test(base)) base = `n${base}`;
    let k = base;
    for (let i = 1; used.has(k); i++) k = `${base}_${i}`;
    used.add(k);
    return k;
  };

  const weights = gm.weights as unknown as Record<string, tf.Tensor[] | undefined>;
  const image = tf.input({ shape: hwc, name: 'input' });
  let x: tf.SymbolicTensor = image;
  let from = inp.name;
  const targets = [...cuts, scoresNode];
  targets.forEach((node, i) => {
    const seg = new GraphSegment(gm, from, node.name, layerName(node.name), i === 0);
    seg.outShape = shapes.get(node.name)!;
    if (i === 0) {
      const cost = graphCost([...before, scoresNode], shapes, weights);
      seg.macsPerImage = cost.macs;
      seg.valuesPerImage = cost.values;
    }
    x = seg.apply(x) as tf.SymbolicTensor;
    from = node.name;
  });
  if (endsInSoftmax) x = tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: image, outputs: x, name: modelName.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'graph_model' });
  const params = Object.values(weights).reduce((s, ts) => s + (ts ?? []).reduce((a, t) => a + (t.dtype === 'float32' ? t.size : 0), 0), 0);
  const ops = [...new Set(order.map((n) => n.op))].sort();
  return { model, params, inputName: inp.name, endsInSoftmax, ops, cuts: cuts.length };
}
