/**
 * The model formats XAI Lens loads: one list, read by the engine (which adds how to detect and load each, in
 * src/engine/io/modelFormats.ts), the extension (workspace search, explorer menu) and the docs. Imports nothing.
 */

export type ModelFormatId = 'tfjs-layers' | 'tfjs-graph' | 'keras' | 'keras-h5' | 'onnx';

export interface ModelFormatDescriptor {
  id: ModelFormatId;
  label: string;
  /** File name globs (relative, any folder) that hold a model of this format. */
  filePatterns: string[];
  /** Lower-case file extensions (with the dot) of a model *file*; folder formats list their marker file's. */
  extensions: string[];
}

export const MODEL_FORMATS: readonly ModelFormatDescriptor[] = [
  { id: 'tfjs-layers', label: 'TensorFlow.js layers model', filePatterns: ['model.json'], extensions: ['.json'] },
  { id: 'tfjs-graph', label: 'TensorFlow.js graph model', filePatterns: ['model.json'], extensions: ['.json'] },
  { id: 'keras', label: 'Keras 3 model (.keras)', filePatterns: ['*.keras'], extensions: ['.keras'] },
  { id: 'keras-h5', label: 'Keras HDF5 model (.h5)', filePatterns: ['*.h5', '*.hdf5'], extensions: ['.h5', '.hdf5'] },
  { id: 'onnx', label: 'ONNX model', filePatterns: ['*.onnx'], extensions: ['.onnx'] },
];

/** One glob for the workspace search: every format's patterns. */
export function modelFileGlob(): string {
  const patterns = [...new Set(MODEL_FORMATS.flatMap((f) => f.filePatterns))];
  return `**/{${patterns.join(',')}}`;
}

/** Models larger than this ask before they are loaded (the extension asks; the engine refuses unless allowed). */
export const LARGE_MODEL_BYTES = 500 * 1024 * 1024;

/** How pixel values in [0, 1] become what the model was trained on: x' = (x · (hi − lo) + lo − mean) / std. */
export interface Preprocessing {
  /** The value range the model expects before mean/std, e.g. [0, 1], [0, 255] or [-1, 1]. */
  range: [number, number];
  /** Per-channel mean and std, in the model's channel order and in `range` units; absent: 0 and 1. */
  mean?: number[];
  std?: number[];
  channelOrder: 'rgb' | 'bgr';
  /** For MNIST-like models: light strokes on a dark background (dark-on-light images are inverted). */
  background?: 'dark' | 'light' | 'any';
}

/** Where a setting came from, shown beside it. */
export type SettingSource = 'sidecar' | 'labels.txt' | 'classes.json' | 'model-card' | 'keras-config' | 'inferred' | 'default';

export interface ModelDetails {
  format: ModelFormatId;
  formatLabel: string;
  /** The file or folder the model was loaded from. */
  path: string;
  preprocessing: Preprocessing;
  preprocessingSource: SettingSource;
  /** Why the preprocessing is what it is, one line. */
  preprocessingNote: string;
  classNamesSource: SettingSource;
  /** Human-readable class names (e.g. "tabby cat" for "n02123045"); absent when the class names are already that. */
  displayNames?: string[];
  /** Colour (RGB in [0, 1]) transparent pixels are composited onto, and why. */
  alphaBackground: { rgb: [number, number, number]; reason: string };
  /** Things the importer decided that a user may want to know (one line each). */
  notes: string[];
  /** The sidecar the model's settings were read from, or where one would be read from (absent: in-memory models). */
  sidecar?: { path: string; exists: boolean };
}

/**
 * A sidecar (`xai-lens.json`) holding what a model uses now, for a user to edit: every field the engine reads, so
 * none has to be looked up. The engine checks it on load (validateSidecar) and names a bad field.
 */
export function sidecarContent(name: string, classNames: readonly string[], details: ModelDetails): string {
  const { range, mean, std, channelOrder, background } = details.preprocessing;
  const preprocessing = { range, ...(mean ? { mean } : {}), ...(std ? { std } : {}), channelOrder, ...(background ? { background } : {}) };
  return JSON.stringify({ name, preprocessing, classNames, ...(details.displayNames ? { displayNames: details.displayNames } : {}) }, null, 2) + '\n';
}

/** The card `xai-lens info` prints and *Show Model Card* opens for a model not trained by XAI Lens. */
export interface ImportedModelCard {
  format: 'xai-lens-imported-model/1';
  name: string;
  modelFormat: ModelFormatId;
  formatLabel: string;
  path: string;
  architecture: string;
  inputShape: [number, number, number];
  params: number;
  numClasses: number;
  classNames: string[];
  displayNames?: string[];
  classNamesSource: SettingSource;
  preprocessing: Preprocessing;
  preprocessingSource: SettingSource;
  preprocessingNote: string;
  alphaBackground: { rgb: [number, number, number]; reason: string };
  /** Every layer in graph order (nested models inlined): name, class and output shape without the batch axis. */
  layers: { name: string; className: string; outputShape: (number | null)[] }[];
  notes: string[];
}
