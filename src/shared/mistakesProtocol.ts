/**
 * Messages between the extension host and the mistakes gallery webview (src/extension/training/mistakes.ts ↔
 * webview-ui/src/mistakes). Images travel as model-input pixels (ImagePayload), heatmaps as input-resolution maps.
 */
import type { CounterfactualPayload, ImagePayload } from './protocol';

export interface Mistake {
  /** Stable id within one gallery. */
  id: number;
  path: string;
  /** Path relative to the dataset folder, for display. */
  name: string;
  trueLabel: number;
  predicted: number;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability the model gave the true class. */
  trueProbability: number;
}

export interface GalleryInfo {
  modelDir: string;
  modelName: string;
  dataDir: string;
  classNames: string[];
  /** Images evaluated and how many were right. */
  evaluated: number;
  correct: number;
}

export interface Thumbnail {
  id: number;
  input: ImagePayload;
  /** Grad-CAM toward the predicted class, input resolution. */
  heatmap: number[];
}

export type ToMistakes =
  | { type: 'gallery'; info: GalleryInfo; mistakes: Mistake[] }
  | { type: 'thumbnail'; thumbnail: Thumbnail }
  | { type: 'counterfactual'; id: number; counterfactual?: CounterfactualPayload; error?: string }
  | { type: 'progress'; message: string };

export type FromMistakes =
  | { type: 'ready' }
  | { type: 'counterfactual'; id: number }
  | { type: 'explain'; id: number }
  | { type: 'drawn'; shown: number; thumbnails: number };
