/**
 * What the engine process does, independent of the transport (so tests can call it directly): initialise a
 * backend, keep models warm, explain images and turn results into the shared protocol's payloads.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { loadModel, readModelCard } from '../io/modelFolder';
import { createModelView, type ModelViewImpl } from '../explain/modelView';
import { explainImage } from '../explain/explain';
import { parseMethods } from '../explain/registry';
import { explainPayload, modelInfo } from '../explain/payload';
import { describeEngine } from '../describe';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { prepareNativeForward } from '../native/nativeForward';
import { loadOrt, ortThreads } from '../native/ort';
import { resolve } from 'node:path';
import type { ModelCard } from '../modelCard';
import type { ExplainResult } from '../explain/explain';
import type {
  EngineDescription, EngineInfo, ExplainParams, ExplainResultPayload, InitializeParams, ModelInfo, PartialResultParams, ProgressParams,
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
      m = { model, view, card, info: modelInfo(key, model, card, view) };
      this.models.set(key, m);
    }
    return m;
  }

  /** The extension points' descriptors (explainers, counterfactual methods, architectures…): no backend needed. */
  describe(): EngineDescription {
    return describeEngine();
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
    const payload = (r: ExplainResult) => explainPayload(r, {
      imagePath: p.imagePath, model: m.info, backend: this.backend?.name ?? 'unknown', forwardBackend: m.view.forwardBackend, input: prepared.image, inverted: prepared.inverted,
      totalMs: performance.now() - t0,
    });
    const r = await explainImage(m.view, prepared.image.data, {
      methods, target: p.target, layer: p.layer, counterfactual: p.counterfactual, counterfactualTarget: p.counterfactualTarget,
      counterfactualOptions: p.counterfactualOptions, methodOptions: p.methodOptions, seed: 1, signal,
      onStep: (done, tot, what) => this.progress({ token, done, total: tot, message: what }),
      onPartial: (partial) => this.partial({ token, result: payload(partial) }),
    });
    return payload(r);
  }

  dispose(): void {
    for (const m of this.models.values()) m.model.dispose();
    this.models.clear();
  }
}
