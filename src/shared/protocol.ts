/**
 * Types shared by the extension host, the engine process and the webviews. Imports nothing, so every side can
 * depend on it without pulling in the others. Two channels:
 *  - engine RPC: extension host ↔ engine process (JSON-RPC over the child's stdio, vscode-jsonrpc on both ends);
 *  - panel messages: extension host ↔ explain webview (postMessage), discriminated unions per direction.
 * Arrays travel as plain number[] (JSON); images are model-input pixels in [0, 1], row-major, channels last.
 */

// ---------------------------------------------------------------------------------------------------------------
// Engine RPC
// ---------------------------------------------------------------------------------------------------------------

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type CounterfactualMethod = 'gradient' | 'growing-spheres' | 'none';
export const METHOD_IDS = ['gradcam', 'gradcampp', 'scorecam', 'gradients', 'smoothgrad', 'ig', 'lime'] as const;
export type MethodId = (typeof METHOD_IDS)[number];

export interface EngineInfo {
  backend: string;
  /** What runs forward-only work where it loads ('onnxruntime-cpu'); absent: the TF.js backend does. */
  forwardBackend?: string;
  description: string;
  warning?: string;
  pid: number;
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
}

export interface InitializeParams {
  backend: BackendChoice;
}

export interface LoadModelParams {
  dir: string;
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
  methodOptions?: Partial<Record<MethodId, Record<string, number>>>;
  /** Token echoed in progress notifications, so the client can route them. */
  progressToken?: string;
}

export interface ImagePayload {
  width: number;
  height: number;
  channels: number;
  data: number[];
}

export interface MethodMetricsPayload {
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
  metrics?: MethodMetricsPayload;
  /** LIME: the local fit's R². */
  r2?: number;
}

export interface CounterfactualPayload {
  method: Exclude<CounterfactualMethod, 'none'>;
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
  /** The image as the model saw it (resized, channel-converted, possibly inverted). */
  input: ImagePayload;
  inverted: boolean;
  prediction: { label: number; probabilities: number[] };
  target: number;
  layer: string;
  methods: HeatmapPayload[];
  counterfactual?: CounterfactualPayload;
  totalMs: number;
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
  'engine/loadModel': { params: LoadModelParams; result: ModelInfo };
  'engine/explain': { params: ExplainParams; result: ExplainResultPayload };
}

/** The explanation so far (prediction and the methods finished), sent after each method so panels paint early. */
export interface PartialResultParams {
  token: string;
  result: ExplainResultPayload;
}

export interface EngineNotifications {
  'engine/progress': ProgressParams;
  'engine/partial': PartialResultParams;
}

/** Error codes the engine returns in JSON-RPC errors (the message is always one user-readable line). */
export const ENGINE_ERROR = { userError: 1001, cancelled: 1002, internal: 1003 } as const;

// ---------------------------------------------------------------------------------------------------------------
// Explain panel (webview) messages
// ---------------------------------------------------------------------------------------------------------------

export type ColormapName = 'viridis' | 'jet' | 'inferno' | 'gray' | 'redblue';

export interface PanelSettings {
  opacity: number;
  colormap: ColormapName;
  counterfactual: CounterfactualMethod;
}

/** Extension → webview. */
export type ToWebview =
  | { type: 'init'; imageName: string; settings: PanelSettings; model?: ModelInfo }
  | { type: 'progress'; done: number; total: number; message: string }
  | { type: 'result'; result: ExplainResultPayload }
  /** Methods finished so far; more are coming (the panel stays busy). */
  | { type: 'partial'; result: ExplainResultPayload }
  | { type: 'error'; message: string }
  | { type: 'cancelled' }
  | { type: 'saved'; path: string };

/** Webview → extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'explain'; target?: number; layer?: string; counterfactual: CounterfactualMethod }
  | { type: 'cancel' }
  | { type: 'savePng'; name: string; dataUrl: string };
