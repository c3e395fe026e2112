/** The compare panel's messages: two (image, model) sides explained with the same methods and settings. */
import type { ExplainResultPayload, PanelSettings } from './protocol';

export interface CompareSide {
  /** The image's workspace-relative path. */
  imageName: string;
  /** The model's label (e.g. "CBAM-MobileNetV2 (bundled, MNIST)" or its folder name). */
  modelLabel: string;
  result?: ExplainResultPayload;
  error?: string;
  busy: boolean;
}

/** Extension → compare webview. */
export type ToCompare = { type: 'sides'; sides: CompareSide[]; settings: PanelSettings };

/** Compare webview → extension. */
export type FromCompare = { type: 'ready' } | { type: 'open'; index: number };
