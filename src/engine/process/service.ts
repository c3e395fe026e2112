/**
 * What the engine process does, independent of the transport (so tests can call it directly): initialise a
 * backend, keep models warm, explain images and turn results into the shared protocol's payloads.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, type BackendInfo } from '../backend/backends';
import { importedFromMemory, importModel, type ImportedModel } from '../io/modelFormats';
import { importedModelCard } from '../io/importedCard';
import { createModelView, type ModelViewImpl } from '../explain/modelView';
import { explainImage, usesSecondThread } from '../explain/explain';
import { parseMethods } from '../explain/registry';
import { explainPayload, modelInfo } from '../explain/payload';
import { describeEngine } from '../describe';
import { readImageFile } from '../image/decode';
import { prepareForModel, type PreparedImage } from '../preprocess';
import { NewestFirst } from './newestFirst';
import { explainFolder, listImages } from '../explain/folder';
import type { ExplainFolderParams, ExplainFolderResult, FolderItemParams } from '../../shared/gallery';
import type { RasterImage } from '../image/imageMath';
import { prepareNativeForward, type NativeForward } from '../native/nativeForward';
import { loadOrt, ortThreads } from '../native/ort';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { metadataStamp } from '../io/modelMetadata';
import { labelsByModelClasses, loadEvaluationSet, subset } from '../data/datasets';
import { findMistakes } from '../mistakes';
import type { MistakeParams, MistakesParams, MistakesReport } from '../../shared/mistakes';
import type { ExplainResult } from '../explain/explain';
import type {
  EngineDescription, EngineInfo, ExplainParams, ExplainResultPayload, ImagePayload, InitializeParams, LoadModelArtifactsParams, LoadModelParams,
  ModelCardResult, ModelInfo,
  PartialResultParams, ProgressParams,
} from '../../shared/protocol';
import { XaiLensError } from '../errors';
import { ExplainReplica } from '../parallel/explainReplica';
import { explainThreadsPay } from '../parallel/replica';
import type { Explainer } from '../explain/types';

/** Models loaded from memory (the debugger) are keyed `debug:<name>`, never a folder. */
const MEMORY_PREFIX = 'debug:';

/**
 * Pixels sent with the request. 0..1 pixels are prepared as a file's would be; a raw input (a live model's own
 * tensor) must already have the model's input shape, and goes in unchanged.
 */
function preparePayload(img: ImagePayload, m: WarmModel, raw: boolean): PreparedImage {
  const { width, height, channels } = img;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new XaiLensError(`an image with ${channels} channels cannot be explained`);
  if (img.data.length !== width * height * channels) throw new XaiLensError(`the image holds ${img.data.length} values, not ${width}×${height}×${channels}`);
  const image: RasterImage = { width, height, channels, data: Float32Array.from(img.data) };
  if (!raw) return prepareForModel(image, m.view.inputShape, m.imported.details, m.imported.details.alphaBackground, true);
  const [h, w, c] = m.view.inputShape;
  if (h !== height || w !== width || c !== channels) {
    throw new XaiLensError(`the value is ${height}×${width}×${channels} but ${m.info.name} takes ${h}×${w}×${c}`);
  }
  return { image, inverted: false, notes: [] };
}

interface WarmModel {
  model: tf.LayersModel;
  view: ModelViewImpl;
  imported: ImportedModel;
  info: ModelInfo;
  /** metadataStamp of the model's sidecar and class files when it was loaded (files on disk only). */
  stamp?: string;
  /** The model's second thread, started by the first explanation that splits gradient work (ensureSecondThread). */
  replica?: ExplainReplica;
  /** What loading took, reported by the first explanation that uses the model (then cleared). */
  load?: { modelMs: number; nativeMs: number };
}

function stampOf(path: string): string {
  return metadataStamp(path, statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false);
}

/** Disposes a model and closes its second thread. */
function release(m: WarmModel): void {
  // Closing only terminates the worker; nothing waits on it, and a failure there must not reach the process.
  m.replica?.close().catch(() => undefined);
  m.model.dispose();
}

export class EngineService {
  private backend?: BackendInfo;
  private readonly models = new Map<string, WarmModel>();
  /** The newest explanation runs first; older ones wait between their methods (newestFirst.ts). */
  private readonly priority = new NewestFirst();

  constructor(
    private readonly progress: (p: ProgressParams) => void = () => undefined,
    private readonly partial: (p: PartialResultParams) => void = () => undefined,
    private readonly mistake: (p: MistakeParams) => void = () => undefined,
    private readonly folderItem: (p: FolderItemParams) => void = () => undefined,
  ) {}

  /** The misclassified images of a dataset (src/engine/mistakes.ts); each is sent as an 'engine/mistake' when done. */
  async mistakes(p: MistakesParams, signal?: AbortSignal): Promise<MistakesReport> {
    const m = await this.warm(p.modelDir);
    let { ds } = await loadEvaluationSet(p.data, p.split, m.view.inputShape, { onWarning: () => undefined });
    if (p.maxImages && p.maxImages < ds.count) ds = subset(ds, Array.from({ length: p.maxImages }, (_, i) => i));
    ds = labelsByModelClasses(ds, m.info.classNames);
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
    const processMs = process.uptime() * 1000;
    const t0 = performance.now();
    this.backend = await initBackend(parseBackendChoice(p.backend));
    const backendMs = performance.now() - t0;
    const ort = loadOrt();
    return {
      backend: this.backend.name,
      ...(typeof ort === 'string' ? {} : { forwardBackend: 'onnxruntime-cpu' }),
      description: this.backend.description + (typeof ort === 'string' ? `; ${ort}` : `; forward passes on ONNX Runtime (CPU, ${ortThreads()} threads)`),
      warning: this.backend.warning,
      pid: process.pid,
      startup: { processMs, backendMs },
    };
  }

  private async warm(dir: string, allowLarge = false): Promise<WarmModel> {
    if (!this.backend) await this.initialize({ backend: 'auto' });
    const inMemory = dir.startsWith(MEMORY_PREFIX);
    const key = inMemory ? dir : resolve(dir);
    let m = this.models.get(key);
    // An edited sidecar (the panel's Edit Model Settings) takes effect on the next request: the model is read again.
    // The old one is not disposed: an explanation still running may hold it (a few MB kept per edit). Its second
    // thread is closed; a run still using it does the rest on one thread.
    if (m?.stamp !== undefined && m.stamp !== stampOf(m.imported.path)) {
      this.models.delete(key);
      m.replica?.close().catch(() => undefined);
      m = undefined;
    }
    if (!m && inMemory) throw new XaiLensError(`the model ${dir.slice(MEMORY_PREFIX.length)} read from the debugger is no longer loaded; read it again`);
    if (!m) {
      const t0 = performance.now();
      const imported = await importModel(key, { allowLarge });
      const t1 = performance.now();
      const native = await prepareNativeForward(imported.model);
      const load = { modelMs: t1 - t0, nativeMs: performance.now() - t1 };
      m = { ...this.warmModel(imported, native.forward), stamp: stampOf(imported.path), load };
      this.models.set(key, m);
    }
    return m;
  }

  /** `native`: ONNX Runtime's forward pass for this model, where it exports and passes the probe check. */
  private warmModel(imported: ImportedModel, native?: NativeForward): WarmModel {
    let view: ModelViewImpl;
    try {
      view = createModelView(imported.model, { native });
    } catch (e) {
      imported.model.dispose();
      throw e;
    }
    return { model: imported.model, view, imported, info: modelInfo(imported, view) };
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
    const old = this.models.get(p.key);
    if (old) release(old);
    const m = this.warmModel(importedFromMemory(model, p.key, p.name));
    this.models.set(p.key, m);
    return m.info;
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
    const turn = this.priority.begin();
    try {
      return await this.explainInTurn(p, turn.turn.bind(turn, signal), signal);
    } finally {
      turn.done();
    }
  }

  private async explainInTurn(p: ExplainParams, beforeStep: () => Promise<void>, signal?: AbortSignal): Promise<ExplainResultPayload> {
    const t0 = performance.now();
    const methods = parseMethods(p.methods.join(','));
    const m = await this.warm(p.modelDir, p.allowLargeModel);
    const modelLoad = m.load;
    m.load = undefined;
    this.ensureSecondThread(m, methods, p.counterfactual);
    const details = m.imported.details;
    const prepared = p.image ? preparePayload(p.image, m, p.rawInput === true) : prepareForModel(await readImageFile(p.imagePath), m.view.inputShape, details, details.alphaBackground, true);
    const token = p.progressToken ?? '';
    const total = methods.length + (p.counterfactual !== 'none' ? 1 : 0);
    this.progress({ token, done: 0, total, message: 'predicting' });
    const payload = (r: ExplainResult) => explainPayload(r, {
      imagePath: p.imagePath, model: m.info, backend: this.backend?.name ?? 'unknown', forwardBackend: m.view.forwardBackend, input: prepared.image,
      display: prepared.display, inverted: prepared.inverted, notes: prepared.notes, totalMs: performance.now() - t0, modelLoad,
    });
    const r = await explainImage(m.view, prepared.image.data, {
      methods, target: p.target, layer: p.layer, counterfactual: p.counterfactual, counterfactualTarget: p.counterfactualTarget,
      counterfactualOptions: p.counterfactualOptions, methodOptions: p.methodOptions, seed: 1, signal, beforeStep,
      onStep: (done, tot, what) => this.progress({ token, done, total: tot, message: what }),
      onPartial: (partial) => this.partial({ token, result: payload(partial) }),
    });
    return payload(r);
  }

  /**
   * Starts the model's second thread when this explanation has methods that split their gradient work with it
   * (SmoothGrad, Integrated Gradients, the gradient counterfactual) and a second thread pays (wasm on two cores or more). It loads on the other
   * core while this thread explains; the methods use it once it is ready (explain/methods/twoThreads.ts).
   */
  private ensureSecondThread(m: WarmModel, methods: Explainer[], counterfactual: string): void {
    if (m.replica || !usesSecondThread(methods, counterfactual) || !explainThreadsPay()) return;
    // A model read from a file is imported again there; one handed over by the debugger goes as its topology.
    m.replica = new ExplainReplica(m.model, this.backend?.name ?? 'wasm', m.stamp !== undefined ? m.imported.path : undefined);
    m.view.secondThread = m.replica;
  }

  /** The second thread of a loaded model, if one was started (tests). */
  secondThreadOf(dir: string): ExplainReplica | undefined {
    return this.models.get(dir.startsWith(MEMORY_PREFIX) ? dir : resolve(dir))?.replica;
  }

  /**
   * The folder gallery: each image's prediction and Grad-CAM, sent as a notification when it finishes. It takes its
   * turn before each image, so an explanation asked for meanwhile goes first.
   */
  async explainFolder(p: ExplainFolderParams, signal?: AbortSignal): Promise<ExplainFolderResult> {
    const t0 = performance.now();
    const turn = this.priority.begin();
    try {
      const m = await this.warm(p.modelDir);
      const files = await listImages(p.dir, p.limit ?? Infinity);
      const token = p.progressToken ?? '';
      let explained = 0;
      let failed = 0;
      this.progress({ token, done: 0, total: files.length, message: 'explaining the folder' });
      for await (const item of explainFolder(m.view, files, {
        root: p.dir, details: m.imported.details, classNames: m.info.classNames, layer: p.layer, thumbnail: p.thumbnail, signal,
        beforeStep: () => turn.turn(signal),
      })) {
        if ('error' in item) failed++;
        else explained++;
        this.folderItem({ token, item });
        this.progress({ token, done: explained + failed, total: files.length, message: item.relative });
      }
      if (signal?.aborted) throw new XaiLensError('cancelled');
      return { dir: p.dir, total: files.length, explained, failed, ms: performance.now() - t0 };
    } finally {
      turn.done();
    }
  }

  dispose(): void {
    for (const m of this.models.values()) release(m);
    this.models.clear();
  }
}
