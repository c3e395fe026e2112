/**
 * The one serialiser of an explanation: ExplainResult → the shared protocol's ExplainResultPayload (camelCase), which
 * the engine process sends to panels. The CLI's `explain --json` report is the same payload with its files added,
 * methods keyed by id and heatmaps as rows, its keys mapped to the documented snake_case names.
 */
import { Buffer } from 'node:buffer';
import type { AttentionPayload, DisplayImagePayload, ExplainResultPayload, HeatmapPayload, ModelInfo } from '../../shared/protocol';
import { toBytes, type RasterImage } from '../image/imageMath';
import type { ImportedModel } from '../io/modelFormats';
import { countMacs } from '../models/modelStats';
import type { ExplainResult } from './explain';
import type { ModelViewImpl } from './modelView';
import { EXPLAINERS } from './registry';

/** What panels and reports say about a loaded model, of any format. */
export function modelInfo(imported: ImportedModel, view: ModelViewImpl): ModelInfo {
  const { card, model } = imported;
  return {
    dir: imported.path,
    name: imported.name,
    architecture: imported.architecture,
    params: imported.params,
    macsPerImage: card?.macsPerImage ?? countMacs(model),
    inputShape: view.inputShape,
    classNames: imported.classNames,
    testAccuracy: card?.metrics.testAccuracy,
    testLoss: card?.metrics.testLoss,
    layers: view.spatialLayers.map((l) => ({ name: l.name, shape: l.shape, className: l.className })),
    defaultLayer: view.defaultLayer,
    details: imported.details,
  };
}

export interface PayloadContext {
  imagePath: string;
  model: ModelInfo;
  backend: string;
  /** What ran the forward passes ('onnxruntime-cpu' or the TF.js backend). */
  forwardBackend?: string;
  /** The image as the model saw it. */
  input: RasterImage;
  /** The image at its own resolution, where that differs from the input's (preprocess.ts). */
  display?: RasterImage;
  inverted: boolean;
  /** What preparing the image did that a user should know (alpha composited, channels converted…). */
  notes?: string[];
  totalMs: number;
  /** What loading the model took, when this request loaded it. */
  modelLoad?: { modelMs: number; nativeMs: number };
}

function displayPayload(img: RasterImage): DisplayImagePayload {
  return { width: img.width, height: img.height, channels: img.channels, base64: Buffer.from(toBytes(img)).toString('base64') };
}

/** The attention explainer's scores as the panel needs them (the per-layer maps stay in the engine). */
function attentionPayload(scores: Record<string, unknown> | undefined): AttentionPayload | undefined {
  if (!scores || typeof scores.layer !== 'string') return undefined;
  const s = scores as { layer: string; className: string; kind: string; query?: [number, number]; channelGate?: number[] };
  return { layer: s.layer, className: s.className, kind: s.kind, query: s.query, channelGate: s.channelGate };
}

/** The sample counts and batch sizes a method reported in its scores. */
function sizesOf(scores: Record<string, unknown> | undefined): HeatmapPayload['sizes'] {
  const out: Record<string, unknown> = {};
  for (const k of ['samples', 'steps', 'maps', 'segments', 'batch', 'forwardBatch', 'note'] as const) if (scores?.[k] !== undefined) out[k] = scores[k];
  return Object.keys(out).length ? (out as HeatmapPayload['sizes']) : undefined;
}

export function explainPayload(r: ExplainResult, ctx: PayloadContext): ExplainResultPayload {
  const labels = new Map(EXPLAINERS.map((e) => [e.id, e.label]));
  const methods: HeatmapPayload[] = r.attributions.map((a) => ({
    method: a.method,
    label: labels.get(a.method) ?? a.method,
    signed: a.signed,
    width: a.width,
    height: a.height,
    data: Array.from(a.heatmap),
    layer: a.layerMap?.layer,
    layerSize: a.layerMap ? [a.layerMap.height, a.layerMap.width] : undefined,
    ms: a.ms,
    metrics: r.metrics[a.method],
    r2: typeof a.scores?.r2 === 'number' ? a.scores.r2 : undefined,
    attention: a.method === 'attention' ? attentionPayload(a.scores) : undefined,
    sizes: sizesOf(a.scores),
  }));
  const { width, height, channels, data } = ctx.input;
  const cf = r.counterfactual;
  return {
    imagePath: ctx.imagePath,
    model: ctx.model,
    backend: ctx.backend,
    forwardBackend: ctx.forwardBackend,
    notes: r.notes,
    input: { width, height, channels, data: Array.from(data) },
    ...(ctx.display ? { display: displayPayload(ctx.display) } : {}),
    inverted: ctx.inverted,
    inputNotes: ctx.notes,
    prediction: r.prediction,
    target: r.target,
    layer: r.layer,
    methods,
    skipped: r.skipped.map((s) => ({ method: s.method, label: labels.get(s.method) ?? s.method, reason: s.reason })),
    counterfactual: cf
      ? {
          method: cf.method, found: cf.found, label: cf.label, probability: cf.probability,
          image: { width, height, channels, data: Array.from(cf.image) }, diff: Array.from(cf.diff),
          l0: cf.l0, l1: cf.l1, l2: cf.l2, linf: cf.linf, iterations: cf.iterations, ms: cf.ms,
        }
      : undefined,
    totalMs: ctx.totalMs,
    ...(ctx.modelLoad ? { modelLoad: ctx.modelLoad } : {}),
  };
}

/** The PNG files the CLI wrote for a payload: one per method id, and the counterfactual with its signed difference. */
export interface ReportFiles {
  methods: Record<string, string>;
  /** png and diffPng at display scale; modelPng is the counterfactual itself at the model's input resolution. */
  counterfactual?: { png: string; diffPng: string; modelPng: string };
}

/** `explain --json`: the payload reshaped for a reader of one image's report, in the documented snake_case names. */
export function cliReport(p: ExplainResultPayload, files: ReportFiles): unknown {
  const rows = (m: HeatmapPayload) =>
    Array.from({ length: m.height }, (_, y) => m.data.slice(y * m.width, (y + 1) * m.width).map((v) => Number(v.toPrecision(6))));
  const cf = p.counterfactual;
  return snakeCaseKeys({
    file: p.imagePath,
    model: p.model.dir,
    backend: p.backend,
    forwardBackend: p.forwardBackend,
    prediction: p.prediction,
    target: p.target,
    layer: p.layer,
    inverted: p.inverted,
    inputNotes: p.inputNotes,
    methods: Object.fromEntries(p.methods.map((m) => [m.method, {
      heatmap: rows(m), signed: m.signed, png: files.methods[m.method], ms: m.ms, ...(m.layer ? { layer: m.layer, layerSize: m.layerSize } : {}),
      ...(m.attention ? { attention: m.attention } : {}), ...m.sizes,
    }])),
    notes: p.notes ?? [],
    skipped: p.skipped,
    counterfactual: cf && {
      method: cf.method, found: cf.found, label: cf.label, probability: cf.probability, ...files.counterfactual,
      l0: cf.l0, l1: cf.l1, l2: cf.l2, linf: cf.linf, iterations: cf.iterations, ms: cf.ms,
    },
    metrics: Object.fromEntries(p.methods.filter((m) => m.metrics).map((m) => [m.method, m.metrics])),
  });
}

/** camelCase object keys → snake_case, deeply (method ids, being lower-case, stay as they are). */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(v)]));
}
