/**
 * Types shared by the extension host, the engine process and the webviews. Imports nothing, so every side can
 * depend on it. Messages are discriminated unions per direction.
 */

/** Summary of a model as the UI shows it (a subset of the engine's model card). */
export interface ModelSummary {
  name: string;
  architecture: string;
  params: number;
  macsPerImage: number;
  classNames: string[];
  testAccuracy?: number;
  testLoss?: number;
  backend: string;
}

/** Extension → webview. */
export type ToWebview = { type: 'init'; model: ModelSummary } | { type: 'error'; message: string };

/** Webview → extension. */
export type FromWebview = { type: 'ready' };
