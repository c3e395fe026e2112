import type { Descriptor } from './descriptors';

/**
 * Types shared by the extension host, the engine process and the webviews. Imports only other src/shared files, so
 * every side can depend on it without pulling in the others. Two channels:
 *  - engine RPC: extension host ↔ engine process (JSON-RPC over the child's stdio, vscode-jsonrpc on both ends);
 *  - panel messages: extension host ↔ explain webview (postMessage), discriminated unions per direction.
 * Arrays travel as plain number[] (JSON); images are model-input pixels in [0, 1], row-major, channels last.
 */

import type { MistakeParams, MistakesParams, MistakesReport } from './mistakes';
import type { ExplainFolderParams, ExplainFolderResult, FolderItemParams } from './gallery';

// ---------------------------------------------------------------------------------------------------------------
// Engine RPC
// ---------------------------------------------------------------------------------------------------------------

import type { ModelDetails } from './modelFormats';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** An explainer id; the engine's registry lists them (`engine/describe`). */
export type MethodId = string;
/** A counterfactual method id from the engine's registry, or 'none'. */
export type CounterfactualMethod = string;

/** What the engine can do, from its registries: the lists manifests, CLI usage and pickers are built from. */
export interface EngineDescription {
  explainers: (Descriptor & { capabilities: { usesGradients: boolean; blackBox: boolean; needsSpatialLayer: boolean; signed: boolean } })[];
  counterfactuals: (Descriptor & { usesGradients: boolean })[];
  backbones: Descriptor[];
  attentions: Descriptor[];
  architectures: (Descriptor & { backbone: string; attention?: string })[];
}

export interface EngineInfo {
  backend: string;
  /** What runs forward-only work where it loads ('onnxruntime-cpu'); absent: the TF.js backend does. */
  forwardBackend?: string;
  description: string;
  warning?: string;
  pid: number;
  /** Where the engine's start went: loading its code (process start → first request) and the backend. */
  startup?: { processMs: number; backendMs: number };
}

export interface LayerInfo {
  name: string;
  shape: [number, number, number];
  className: string;
}

export interface ModelInfo {
  dir: string;
  name: string;
  architecture: string;
  params: number;
  macsPerImage: number;
  inputShape: [number, number, number];
  classNames: string[];
  testAccuracy?: number;
  testLoss?: number;
  layers: LayerInfo[];
  defaultLayer: string;
  /** Format, preprocessing, display names, alpha background and importer notes (src/shared/modelFormats.ts). */
  details?: ModelDetails;
}

export interface InitializeParams {
  backend: BackendChoice;
}

export interface LoadModelParams {
  /** A model folder or file (TF.js, .keras, .h5, .onnx). */
  dir: string;
  /** Load even when over LARGE_MODEL_BYTES (the user confirmed). */
  allowLargeModel?: boolean;
}

/** A model card as text (JSON), for *Show Model Card*. */
export interface ModelCardResult {
  name: string;
  json: string;
}

export interface ExplainParams {
  modelDir: string;
  imagePath: string;
  methods: MethodId[];
  /** Class to explain; default the predicted class. */
  target?: number;
  /** CAM layer; default the model's last 4-D layer. */
  layer?: string;
  counterfactual: CounterfactualMethod;
  counterfactualTarget?: number | 'any';
  /** Per-method options, e.g. { smoothgrad: { samples: 50 }, lime: { samples: 1000 }, ig: { steps: 50 } }. */
  methodOptions?: Record<MethodId, Record<string, number | string | boolean>>;
  /** Options of the counterfactual method (its schema in `engine/describe`). */
  counterfactualOptions?: Record<string, number | string | boolean>;
  /** Token echoed in progress notifications, so the client can route them. */
  progressToken?: string;
  allowLargeModel?: boolean;
  /** Pixels to explain instead of reading `imagePath` (which then only names the image), e.g. read by the debugger. */
  image?: ImagePayload;
  /** With `image`: its values are the model's input as they are (a live model's own tensor), not 0..1 pixels to prepare. */
  rawInput?: boolean;
}

export interface ImagePayload {
  width: number;
  height: number;
  channels: number;
  data: number[];
}

/** An image for display only, 8 bits per channel as base64 (a photo as float JSON would be tens of MB). */
export interface DisplayImagePayload {
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
  base64: string;
}

export interface MethodMetrics {
  deletionAuc: number;
  insertionAuc: number;
  randomDeletionAuc: number;
  randomInsertionAuc: number;
  clarity: number;
}

export interface HeatmapPayload {
  method: MethodId;
  label: string;
  signed: boolean;
  width: number;
  height: number;
  /** Input-resolution map, row-major; higher = more evidence for the target. */
  data: number[];
  /** CAM methods: the layer used and its resolution. */
  layer?: string;
  layerSize?: [number, number];
  ms: number;
  metrics?: MethodMetrics;
  /** LIME: the local fit's R². */
  r2?: number;
  /** Sample counts and batch sizes the method chose (they scale with the model's cost), and why a batch was cut. */
  sizes?: { samples?: number; steps?: number; maps?: number; segments?: number; batch?: number; forwardBatch?: number; note?: string };
  /** Attention maps: the shown attention layer and, for SE and CBAM, its channel gate (one value in (0, 1) per channel). */
  attention?: AttentionPayload;
}

export interface AttentionPayload {
  layer: string;
  className: string;
  /** 'spatial-gate' (CBAM), 'context-mask' (GC), 'position-attention' (PAM), 'channel-gate' (SE). */
  kind: string;
  /** PAM: [row, col] of the query position at the layer's resolution. */
  query?: [number, number];
  channelGate?: number[];
}

export interface CounterfactualPayload {
  method: CounterfactualMethod;
  found: boolean;
  label: number;
  probability: number;
  image: ImagePayload;
  /** Counterfactual minus original, same layout as image.data. */
  diff: number[];
  l0: number;
  l1: number;
  l2: number;
  linf: number;
  iterations: number;
  ms: number;
}

export interface ExplainResultPayload {
  imagePath: string;
  model: ModelInfo;
  backend: string;
  /** What ran this explanation's forward passes ('onnxruntime-cpu' or the TF.js backend); gradients ran on `backend`. */
  forwardBackend?: string;
  /** What the run had to adapt, one line each (e.g. a batch cut to fit the memory budget). */
  notes?: string[];
  /** The image as the model saw it (resized, channel-converted, possibly inverted). */
  input: ImagePayload;
  /** The image at its own resolution (longer side ≤ 768) for the overlays; absent when it is the input's size. */
  display?: DisplayImagePayload;
  inverted: boolean;
  /** What was done to the image beyond resizing (alpha compositing, channel conversion), one line each. */
  inputNotes?: string[];
  prediction: { label: number; probabilities: number[] };
  target: number;
  layer: string;
  methods: HeatmapPayload[];
  /** Requested methods that do not apply to this model, with why (e.g. attention maps without attention layers). */
  skipped?: { method: MethodId; label: string; reason: string }[];
  counterfactual?: CounterfactualPayload;
  totalMs: number;
  /** Set when this request loaded the model: reading and building it, and preparing ONNX Runtime (export or cache,
   * probe check). */
  modelLoad?: { modelMs: number; nativeMs: number };
}

export interface ProgressParams {
  token: string;
  done: number;
  total: number;
  message: string;
}

/** Request name → params and result. Both ends build their typed RequestType objects from this map. */
export interface EngineRequests {
  'engine/initialize': { params: InitializeParams; result: EngineInfo };
  'engine/describe': { params: Record<string, never>; result: EngineDescription };
  'engine/loadModel': { params: LoadModelParams; result: ModelInfo };
  'engine/explain': { params: ExplainParams; result: ExplainResultPayload };
  'engine/mistakes': { params: MistakesParams; result: MistakesReport };
  'engine/modelCard': { params: LoadModelParams; result: ModelCardResult };
  'engine/loadModelArtifacts': { params: LoadModelArtifactsParams; result: ModelInfo };
  /** The folder gallery: every image's prediction and Grad-CAM, each sent as `engine/folderItem` when it finishes. */
  'engine/explainFolder': { params: ExplainFolderParams; result: ExplainFolderResult };
}

/** A model handed over in memory (a tf.LayersModel read through the debugger); explain it with `modelDir: key`. */
export interface LoadModelArtifactsParams {
  /** Starts with `debug:`; loading the same key again replaces the model. */
  key: string;
  name: string;
  modelTopology: object;
  weightSpecs: { name: string; shape: number[]; dtype: 'float32' }[];
  /** Weights in spec order, little-endian float32, base64. */
  weightData: string;
}

/**
 * The explanation so far (prediction and the methods finished), sent after each method so panels paint early; the
 * first method's map also goes once before its metrics.
 */
export interface PartialResultParams {
  token: string;
  result: ExplainResultPayload;
}

export interface EngineNotifications {
  'engine/progress': ProgressParams;
  'engine/partial': PartialResultParams;
  'engine/mistake': MistakeParams;
  'engine/folderItem': FolderItemParams;
}

/** Error codes the engine returns in JSON-RPC errors (the message is always one user-readable line). */
export const ENGINE_ERROR = { userError: 1001, cancelled: 1002, internal: 1003 } as const;

// ---------------------------------------------------------------------------------------------------------------
// Explain panel (webview) messages
// ---------------------------------------------------------------------------------------------------------------

export type ColormapName = 'viridis' | 'jet' | 'inferno' | 'gray' | 'redblue';

/** One entry of a picker. */
export interface Choice {
  id: string;
  label: string;
}

export interface PanelSettings {
  opacity: number;
  colormap: ColormapName;
  counterfactual: CounterfactualMethod;
}

/** Extension → webview. */
export type ToWebview =
  /**
   * `counterfactuals`: the counterfactual picker's choices (ids and labels, from the registry via the manifest).
   * `follows`: the panel re-targets to the active image unless `locked` (the custom editor does not follow).
   */
  | { type: 'init'; imageName: string; settings: PanelSettings; model?: ModelInfo; counterfactuals?: Choice[]; follows?: boolean; locked?: boolean }
  | { type: 'locked'; locked: boolean }
  | { type: 'progress'; done: number; total: number; message: string }
  | { type: 'result'; result: ExplainResultPayload }
  /** Methods finished so far; more are coming (the panel stays busy). */
  | { type: 'partial'; result: ExplainResultPayload }
  | { type: 'error'; message: string }
  | { type: 'cancelled' }
  | { type: 'saved'; path: string };

/** Webview → extension. */
export type FromWebview =
  /** `timing`: ms from the webview document's start to this script running, and to the app mounted (start-up profile). */
  | { type: 'ready'; timing?: { scriptMs: number; mountedMs: number } }
  /** The first overlay of this image's result is on screen. */
  | { type: 'painted'; imagePath: string }
  | { type: 'explain'; target?: number; layer?: string; counterfactual: CounterfactualMethod }
  | { type: 'cancel' }
  | { type: 'lock'; locked: boolean }
  | { type: 'savePng'; name: string; dataUrl: string }
  /** Open the model's sidecar (xai-lens.json), created with the values in use when there is none. */
  | { type: 'editModelSettings' };
