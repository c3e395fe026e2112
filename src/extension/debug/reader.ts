/**
 * What the debug commands read through the helper: one image (any supported value, a batch item of a batch), a
 * tf.LayersModel's topology and weights, and the maps a live model computed in the paused program, turned into the
 * panel's ExplainResultPayload. Pure (no `vscode`): it runs on a HelperClient, whatever evaluates its expressions.
 */
import { decodeFileBytes } from '../../engine/image/decode';
import type { ExplainResultPayload, HeatmapPayload, LoadModelArtifactsParams, MethodId } from '../../shared/protocol';
import { HelperError, literal, valueArg, type Described, type HelperClient } from './helperProtocol';
import { NotAnImageError, checkSlice, interpretShape, samplesFromBytes, toPixels, type ImageLayout, type Pixels, type TransferDtype } from './imageLayout';

export interface ReadImage {
  expression: string;
  described: Described;
  layout: ImageLayout;
  /** The batch item read, or null when the value has no batch axis. */
  batchIndex: number | null;
  pixels: Pixels;
  /** Source dtype as the debuggee names it (float32, float64, uint8, bool, …). */
  dtype: string;
}

/** The dtype a source dtype travels as: uint8 and bool as bytes, everything else as float32. */
export function transferDtype(dtype: string): TransferDtype {
  return dtype === 'uint8' || dtype === 'bool' ? 'uint8' : 'float32';
}

/** Reads the image an expression holds. Errors are one line (NotAnImageError, HelperError). */
export async function readImage(client: HelperClient, expression: string, opts: { batchIndex?: number; onChunk?: (done: number, total: number) => void } = {}): Promise<ReadImage> {
  const described = await client.describe(expression);
  if (described.kind === 'model') throw new NotAnImageError(`${expression} is a model (${described.className}), not an image: pick it as the model`);
  if (described.kind === 'encoded') {
    const { bytes } = await client.transfer('prepare', [valueArg(expression)], opts.onChunk);
    const img = decodeFileBytes(bytes, described.path ?? expression);
    const layout: ImageLayout = { layout: 'HWC', batch: 1, height: img.height, width: img.width, channels: img.channels };
    const pixels: Pixels = {
      image: { width: img.width, height: img.height, channels: img.channels, data: Array.from(img.data) },
      raw: img.data,
      range: '[0,1]',
      min: 0,
      max: 1,
    };
    return { expression, described, layout, batchIndex: null, pixels, dtype: described.format };
  }
  const layout = interpretShape(described.shape);
  const dtype = transferDtype(described.dtype);
  const batchIndex = checkSlice(layout, dtype, opts.batchIndex ?? 0);
  const { meta, bytes } = await client.transfer<{ byteLength: number; chunks: number; dtype: TransferDtype }>(
    'prepare',
    [valueArg(expression), literal(client.lang, batchIndex)],
    opts.onChunk,
  );
  const pixels = toPixels(samplesFromBytes(bytes, meta.dtype), layout, meta.dtype, described.dtype);
  return { expression, described, layout, batchIndex, pixels, dtype: described.dtype };
}

/** Reads a tf.LayersModel variable as the engine's in-memory model artifacts. */
export async function readTfjsModel(client: HelperClient, expression: string, key: string): Promise<LoadModelArtifactsParams> {
  const { meta, bytes } = await client.transfer<{ byteLength: number; chunks: number; topology: object; weightSpecs: LoadModelArtifactsParams['weightSpecs']; className: string }>(
    'prepareModel',
    [valueArg(expression)],
  );
  return { key, name: `${expression} (${meta.className}, live)`, modelTopology: meta.topology, weightSpecs: meta.weightSpecs, weightData: Buffer.from(bytes).toString('base64') };
}

export const LIVE_METHODS = ['gradcam', 'gradients', 'smoothgrad', 'ig'] as const;
export type LiveMethod = (typeof LIVE_METHODS)[number];

export interface LiveExplainMeta {
  byteLength: number;
  chunks: number;
  framework: 'torch' | 'keras';
  className: string;
  params: number;
  /** [H, W, C] of the input the model was fed. */
  inputShape: [number, number, number];
  probabilities: number[];
  label: number;
  target: number;
  layer: string;
  layers: { name: string; shape: [number, number, number]; className: string }[];
  maps: { method: LiveMethod; signed: boolean; height: number; width: number; ms: number; layer?: string; layerSize?: [number, number] }[];
  ms: number;
}

export interface LiveExplanation {
  meta: LiveExplainMeta;
  maps: { method: LiveMethod; data: Float32Array }[];
  /** The model's input, HWC as fed (the user's values). */
  input: Float32Array;
}

export interface LiveOptions {
  layer?: string;
  target?: number;
  batchIndex?: number;
  methods?: readonly LiveMethod[];
  samples?: number;
  steps?: number;
}

/** Runs the helper's explain() with the live model on the value; the maps come back as float32 chunks. */
export async function explainLive(client: HelperClient, modelExpression: string, valueExpression: string, opts: LiveOptions = {}): Promise<LiveExplanation> {
  if (client.lang !== 'python') throw new HelperError('live-model maps are computed in Python programs; JavaScript models are read by the engine');
  const args = [
    valueArg(modelExpression),
    valueArg(valueExpression),
    literal('python', opts.batchIndex ?? null),
    literal('python', opts.layer ?? null),
    literal('python', opts.target ?? null),
    literal('python', [...(opts.methods ?? LIVE_METHODS)]),
    String(opts.samples ?? 50),
    String(opts.steps ?? 50),
  ];
  const { meta, bytes } = await client.transfer<LiveExplainMeta>('explain', args);
  const floats = samplesFromBytes(bytes, 'float32') as Float32Array;
  let off = 0;
  const maps = meta.maps.map((m) => {
    const data = floats.slice(off, off + m.height * m.width);
    off += m.height * m.width;
    return { method: m.method, data };
  });
  const [h, w, c] = meta.inputShape;
  const input = floats.slice(off, off + h * w * c);
  if (off + h * w * c !== floats.length) throw new HelperError(`the explanation holds ${floats.length} values, expected ${off + h * w * c}`);
  return { meta, maps, input };
}

const LABELS: Record<LiveMethod, string> = { gradcam: 'Grad-CAM', gradients: 'Gradients', smoothgrad: 'SmoothGrad', ig: 'Integrated Gradients' };

/** The live model's explanation in the shape the explain panel renders (input shown by min–max when needed). */
export function liveResultPayload(r: LiveExplanation, valueExpression: string, modelExpression: string): ExplainResultPayload {
  const [h, w, c] = r.meta.inputShape;
  const shown = c === 1 || c === 3 || c === 4 ? c : 3;
  const layout: ImageLayout = { layout: 'HWC', batch: 1, height: h, width: w, channels: shown };
  const pixels = toPixels(c === shown ? r.input : r.input.slice(0, h * w * shown), layout, 'float32', 'float32');
  const methods: HeatmapPayload[] = r.meta.maps.map((m, i) => ({
    method: m.method as MethodId,
    label: LABELS[m.method],
    signed: m.signed,
    width: m.width,
    height: m.height,
    data: Array.from(r.maps[i].data),
    layer: m.layer,
    layerSize: m.layerSize,
    ms: m.ms,
  }));
  const classes = r.meta.probabilities.length;
  return {
    imagePath: valueExpression,
    model: {
      dir: `debug:${modelExpression}`,
      name: `${r.meta.className} (live)`,
      architecture: `${r.meta.framework === 'torch' ? 'PyTorch' : 'Keras'} ${r.meta.className} in the paused program (${modelExpression})`,
      params: r.meta.params,
      macsPerImage: 0,
      inputShape: [h, w, c],
      classNames: Array.from({ length: classes }, (_, i) => String(i)),
      layers: r.meta.layers,
      defaultLayer: r.meta.layers.at(-1)?.name ?? '',
    },
    backend: r.meta.framework === 'torch' ? 'PyTorch (debuggee)' : 'TensorFlow (debuggee)',
    input: pixels.image,
    inverted: false,
    prediction: { label: r.meta.label, probabilities: r.meta.probabilities },
    target: r.meta.target,
    layer: r.meta.layer,
    methods,
    totalMs: r.meta.ms,
  };
}
