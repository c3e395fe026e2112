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
import { prepareNativeForward } from '../native/nativeForward';
import { loadOrt, ortThreads } from '../native/ort';
import { resolve } from 'node:path';
import type { ModelCard } from '../modelCard';
import type { ExplainResult } from '../explain/explain';
import type { RasterImage } from '../image/imageMath';
import type {
  EngineInfo, ExplainParams, ExplainResultPayload, HeatmapPayload, InitializeParams, MethodId, ModelInfo, PartialResultParams, ProgressParams,
} from '../../shared/protocol';

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
    const ort = loadOrt();
    return {
      backend: this.backend.name,
      ...(typeof ort === 'string' ? {} : { forwardBackend: 'onnxruntime-cpu' }),
      description: this.backend.description + (typeof ort === 'string' ? `; ${ort}` : `; forward passes on ONNX Runtime (CPU, ${ortThreads()} threads)`),
      warning: this.backend.warning,
      pid: process.pid,
    };
  }

  private async warm(dir: string): Promise<WarmModel> {
    if (!this.backend) await this.initialize({ backend: 'auto' });
    const key = resolve(dir);
    let m = this.models.get(key);
    if (!m) {
      const model = await loadModel(key);
      const card = await readModelCard(key);
      const native = await prepareNativeForward(model);
      const view = createModelView(model, { native: native.forward });
      const info: ModelInfo = {
        dir: key,
        name: card?.name ?? model.name,
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
      m = { model, view, card, info };
      this.models.set(key, m);
    }
    return m;
  }

  async loadModel(dir: string): Promise<ModelInfo> {
    return (await this.warm(dir)).info;
  }

  async explain(p: ExplainParams, signal?: AbortSignal): Promise<ExplainResultPayload> {
    const t0 = performance.now();
    const methods = parseMethods(p.methods.join(','));
    const img = await readImageFile(p.imagePath);
    const m = await this.warm(p.modelDir);
    const prepared = prepareForModel(img, m.view.inputShape, m.card);
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
      forwardBackend: m.view.forwardBackend,
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
