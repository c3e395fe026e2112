/**
 * What the engine process does, independent of the transport (so tests can call it directly): initialise a
 * backend, keep models warm, explain images and turn results into the shared protocol's payloads.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { loadModel, readModelCard } from '../io/modelFolder';
import { createModelView, type ModelViewImpl } from '../explain/modelView';
import { explainImage } from '../explain/explain';
import { EXPLAINERS, parseMethods } from '../explain/registry';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { countMacs } from '../models/modelStats';
import { resolve } from 'node:path';
import type { ModelCard } from '../modelCard';
import type { ExplainResult } from '../explain/explain';
import type { RasterImage } from '../image/imageMath';
import type {
  EngineInfo, ExplainParams, ExplainResultPayload, HeatmapPayload, ImagePayload, InitializeParams, LoadModelArtifactsParams, MethodId, ModelInfo,
  PartialResultParams, ProgressParams,
} from '../../shared/protocol';
import { XaiLensError } from '../errors';

/** Models loaded from memory (the debugger) are keyed `debug:<name>`, never a folder. */
const MEMORY_PREFIX = 'debug:';

/**
 * Pixels sent with the request. 0..1 pixels are prepared as a file's would be; a raw input (a live model's own
 * tensor) must already have the model's input shape, and goes in unchanged.
 */
function preparePayload(img: ImagePayload, m: WarmModel, raw: boolean): { image: RasterImage; inverted: boolean } {
  const { width, height, channels } = img;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new XaiLensError(`an image with ${channels} channels cannot be explained`);
  if (img.data.length !== width * height * channels) throw new XaiLensError(`the image holds ${img.data.length} values, not ${width}×${height}×${channels}`);
  const image: RasterImage = { width, height, channels, data: Float32Array.from(img.data) };
  if (!raw) return prepareForModel(image, m.view.inputShape, m.card);
  const [h, w, c] = m.view.inputShape;
  if (h !== height || w !== width || c !== channels) {
    throw new XaiLensError(`the value is ${height}×${width}×${channels} but ${m.info.name} takes ${h}×${w}×${c}`);
  }
  return { image, inverted: false };
}

interface WarmModel {
  model: tf.LayersModel;
  view: ModelViewImpl;
  card?: ModelCard;
  info: ModelInfo;
}

export class EngineService {
  private backend?: BackendInfo;
  private readonly models = new Map<string, WarmModel>();

  constructor(
    private readonly progress: (p: ProgressParams) => void = () => undefined,
    private readonly partial: (p: PartialResultParams) => void = () => undefined,
  ) {}

  async initialize(p: InitializeParams): Promise<EngineInfo> {
    this.backend = await initBackend(parseBackendChoice(p.backend));
    return { backend: this.backend.name, description: this.backend.description, warning: this.backend.warning, pid: process.pid };
  }

  private async warm(dir: string): Promise<WarmModel> {
    if (!this.backend) await this.initialize({ backend: 'auto' });
    const inMemory = dir.startsWith(MEMORY_PREFIX);
    const key = inMemory ? dir : resolve(dir);
    let m = this.models.get(key);
    if (!m && inMemory) throw new XaiLensError(`the model ${dir.slice(MEMORY_PREFIX.length)} read from the debugger is no longer loaded; read it again`);
    if (!m) {
      m = this.warmModel(key, await loadModel(key), await readModelCard(key));
      this.models.set(key, m);
    }
    return m;
  }

  private warmModel(key: string, model: tf.LayersModel, card: ModelCard | undefined, name?: string): WarmModel {
    const view = createModelView(model);
    const info: ModelInfo = {
      dir: key,
      name: card?.name ?? name ?? model.name,
      architecture: card?.architecture ?? model.name,
      params: model.countParams(),
      macsPerImage: card?.macsPerImage ?? countMacs(model),
      inputShape: view.inputShape,
      classNames: card?.classNames ?? Array.from({ length: view.numClasses }, (_, i) => String(i)),
      testAccuracy: card?.metrics.testAccuracy,
      testLoss: card?.metrics.testLoss,
      layers: view.spatialLayers.map((l) => ({ name: l.name, shape: l.shape, className: l.className })),
      defaultLayer: view.defaultLayer,
    };
    return { model, view, card, info };
  }

  /** Loads a model handed over in memory (topology + weights read through the debugger) under its `debug:` key. */
  async loadModelArtifacts(p: LoadModelArtifactsParams): Promise<ModelInfo> {
    if (!p.key.startsWith(MEMORY_PREFIX)) throw new XaiLensError(`in-memory model keys start with ${MEMORY_PREFIX} (got ${p.key})`);
    if (!this.backend) await this.initialize({ backend: 'auto' });
    const bytes = Buffer.from(p.weightData, 'base64');
    const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: p.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs: p.weightSpecs, weightData }));
    } catch (e) {
      throw new XaiLensError(`cannot build ${p.name} from what the debugger read: ${(e as Error).message.split('\n')[0]}`);
    }
    this.models.get(p.key)?.model.dispose();
    const m = this.warmModel(p.key, model, undefined, p.name);
    this.models.set(p.key, m);
    return m.info;
  }

  async loadModel(dir: string): Promise<ModelInfo> {
    return (await this.warm(dir)).info;
  }

  async explain(p: ExplainParams, signal?: AbortSignal): Promise<ExplainResultPayload> {
    const t0 = performance.now();
    const methods = parseMethods(p.methods.join(','));
    const m = await this.warm(p.modelDir);
    const prepared = p.image ? preparePayload(p.image, m, p.rawInput === true) : prepareForModel(await readImageFile(p.imagePath), m.view.inputShape, m.card);
    const token = p.progressToken ?? '';
    const total = methods.length + (p.counterfactual !== 'none' ? 1 : 0);
    this.progress({ token, done: 0, total, message: 'predicting' });
    const payload = (r: ExplainResult) => this.toPayload(p.imagePath, m, prepared.image, prepared.inverted, r, performance.now() - t0);
    const r = await explainImage(m.view, prepared.image.data, {
      methods, target: p.target, layer: p.layer, counterfactual: p.counterfactual, counterfactualTarget: p.counterfactualTarget,
      methodOptions: p.methodOptions, seed: 1, signal,
      onStep: (done, tot, what) => this.progress({ token, done, total: tot, message: what }),
      onPartial: (partial) => this.partial({ token, result: payload(partial) }),
    });
    return payload(r);
  }

  private toPayload(imagePath: string, m: WarmModel, input: RasterImage, inverted: boolean, r: ExplainResult, ms: number): ExplainResultPayload {
    const labels = new Map(EXPLAINERS.map((e) => [e.id, e.label]));
    const heatmaps: HeatmapPayload[] = r.attributions.map((a) => ({
      method: a.method as MethodId,
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
    }));
    const { width, height, channels, data } = input;
    const cf = r.counterfactual;
    return {
      imagePath,
      model: m.info,
      backend: this.backend?.name ?? 'unknown',
      input: { width, height, channels, data: Array.from(data) },
      inverted,
      prediction: r.prediction,
      target: r.target,
      layer: r.layer,
      methods: heatmaps,
      counterfactual: cf
        ? {
            method: cf.method, found: cf.found, label: cf.label, probability: cf.probability,
            image: { width, height, channels, data: Array.from(cf.image) }, diff: Array.from(cf.diff),
            l0: cf.l0, l1: cf.l1, l2: cf.l2, linf: cf.linf, iterations: cf.iterations, ms: cf.ms,
          }
        : undefined,
      totalMs: ms,
    };
  }

  dispose(): void {
    for (const m of this.models.values()) m.model.dispose();
    this.models.clear();
  }
}
