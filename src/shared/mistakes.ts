/**
 * The mistakes gallery's data, shared by the engine (src/engine/mistakes.ts, `xai-lens mistakes --json`) and the
 * extension: the `engine/mistakes` request, its per-image notification and its result. Imports nothing.
 */

export interface MistakeCounterfactual {
  /** A counterfactual method id. */
  method: string;
  /** Whether the change reached the true class. */
  found: boolean;
  /** The class the changed image gets, and its probability. */
  label: number;
  probability: number;
  l0: number;
  l2: number;
  /** The changed image, base64 PNG at the model's input size. */
  png: string;
}

export interface Mistake {
  /** Index in the dataset. */
  index: number;
  /** Image folders: the path relative to the folder ("cat/001.png"). */
  file?: string;
  label: number;
  predicted: number;
  /** Probability of the predicted (wrong) class. */
  confidence: number;
  /** Probability the model gave the true class. */
  trueProbability: number;
  /** Grad-CAM overlay for the predicted class, base64 PNG about `thumbnail` px on its longer side (small inputs are
   *  upscaled by a whole factor, pixel-exactly). */
  gradcamPng: string;
  counterfactual?: MistakeCounterfactual;
}

export interface MistakesReport {
  count: number;
  errors: number;
  accuracy: number;
  classNames: string[];
  /** Most confident first; at most `limit`. */
  mistakes: Mistake[];
}

export interface MistakesParams {
  modelDir: string;
  /** A dataset spec as the CLI takes it: folder, mnist, fashion-mnist[:dir], IDX folder. */
  data: string;
  split?: 'test' | 'train';
  limit?: number;
  /** Evaluate only the first N images. */
  maxImages?: number;
  /** A counterfactual method id. */
  counterfactual?: string;
  /** Counterfactuals for the first N mistakes listed (default 1 when `counterfactual` is set). */
  counterfactuals?: number;
  progressToken?: string;
}

/** One finished mistake, sent as soon as its thumbnail is ready (list order), so a gallery can fill in. */
export interface MistakeParams {
  token: string;
  mistake: Mistake;
  done: number;
  total: number;
}
