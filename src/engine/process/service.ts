/**
 * What the engine process does, independent of the transport (so tests can call it directly): initialise a
 * backend, keep models warm, explain images and turn results into the shared protocol's payloads.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { importModel, type ImportedModel } from '../io/modelFormats';
import { importedModelCard } from '../io/importedCard';
import { createModelView, type ModelViewImpl } from '../explain/modelView';
import { explainImage } from '../explain/explain';
import { EXPLAINERS, parseMethods } from '../explain/registry';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { countMacs } from '../models/modelStats';
import { resolve } from 'node:path';
import type { ExplainResult } from '../explain/explain';
import type { RasterImage } from '../image/imageMath';
import type {
  EngineInfo, ExplainParams, ExplainResultPayload, HeatmapPayload, InitializeParams, LoadModelParams, MethodId, ModelCardResult, ModelInfo, PartialResultParams,
  ProgressParams,
} from '../../shared/protocol';

interface WarmModel {
  model: tf.LayersModel;
  view: ModelViewImpl;
  imported: ImportedModel;
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

  private async warm(dir: string, allowLarge = false): Promise<WarmModel> {
    if (!this.backend) await this.initialize({ backend: 'auto' });
    const key = resolve(dir);
    let m = this.models.get(key);
    if (!m) {
      const imported = await importModel(key, { allowLarge });
      const { model, card } = imported;
      let view: ModelViewImpl;
      try {
        view = createModelView(model);
      } catch (e) {
        model.dispose();
        throw e;
      }
      const info: ModelInfo = {
        dir: key,
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
      m = { model, view, imported, info };
      this.models.set(key, m);
    }
    return m;
  }

  async loadModel(dir: string, allowLarge = false): Promise<ModelInfo> {
    return (await this.warm(dir, allowLarge)).info;
  }

  /** The model card as JSON text: model-card.json for models trained here, a generated card for any other. */
  async modelCard(p: LoadModelParams): Promise<ModelCardResult> {
    const m = await this.warm(p.dir, p.allowLargeModel);
    const card = m.imported.card ? { dir: m.info.dir, ...m.imported.card } : importedModelCard(m.imported);
    return { name: m.info.name, json: JSON.stringify(card, null, 2) };
  }

  async explain(p: ExplainParams, signal?: AbortSignal): Promise<ExplainResultPayload> {
    const t0 = performance.now();
    const methods = parseMethods(p.methods.join(','));
    const img = await readImageFile(p.imagePath);
    const m = await this.warm(p.modelDir, p.allowLargeModel);
    const details = m.imported.details;
    const prepared = prepareForModel(img, m.view.inputShape, details, details.alphaBackground);
    const token = p.progressToken ?? '';
    const total = methods.length + (p.counterfactual !== 'none' ? 1 : 0);
    this.progress({ token, done: 0, total, message: 'predicting' });
    const payload = (r: ExplainResult) => ({ ...this.toPayload(p.imagePath, m, prepared.image, prepared.inverted, r, performance.now() - t0), inputNotes: prepared.notes });
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
