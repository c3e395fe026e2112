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
import { parseMethods } from '../explain/registry';
import { explainPayload, modelInfo } from '../explain/payload';
import { describeEngine } from '../describe';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { resolve } from 'node:path';
import { loadDataset, subset } from '../data/datasets';
import { findMistakes } from '../mistakes';
import type { MistakeParams, MistakesParams, MistakesReport } from '../../shared/mistakes';
import type { ExplainResult } from '../explain/explain';
import type {
  EngineDescription, EngineInfo, ExplainParams, ExplainResultPayload, InitializeParams, LoadModelParams, ModelCardResult, ModelInfo,
  PartialResultParams, ProgressParams,
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
    private readonly mistake: (p: MistakeParams) => void = () => undefined,
  ) {}

  /** The misclassified images of a dataset (src/engine/mistakes.ts); each is sent as an 'engine/mistake' when done. */
  async mistakes(p: MistakesParams, signal?: AbortSignal): Promise<MistakesReport> {
    const m = await this.warm(p.modelDir);
    let ds = await loadDataset(p.data, p.split ?? 'test', m.view.inputShape, { onWarning: () => undefined });
    if (p.maxImages && p.maxImages < ds.count) ds = subset(ds, Array.from({ length: p.maxImages }, (_, i) => i));
    const token = p.progressToken ?? '';
    const report = await findMistakes(m.model, ds, {
      limit: p.limit, counterfactual: p.counterfactual, counterfactuals: p.counterfactuals, seed: 1, signal,
      onMistake: (mistake, done, total) => {
        this.mistake({ token, mistake, done, total });
        this.progress({ token, done, total, message: mistake.file ?? `#${mistake.index}` });
      },
    });
    return { ...report, classNames: m.info.classNames };
  }

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
      let view: ModelViewImpl;
      try {
        view = createModelView(imported.model);
      } catch (e) {
        imported.model.dispose();
        throw e;
      }
      m = { model: imported.model, view, imported, info: modelInfo(imported, view) };
      this.models.set(key, m);
    }
    return m;
  }

  /** The extension points' descriptors (explainers, counterfactual methods, architectures…): no backend needed. */
  describe(): EngineDescription {
    return describeEngine();
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
    const payload = (r: ExplainResult) => explainPayload(r, {
      imagePath: p.imagePath, model: m.info, backend: this.backend?.name ?? 'unknown', input: prepared.image, inverted: prepared.inverted,
      notes: prepared.notes, totalMs: performance.now() - t0,
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
