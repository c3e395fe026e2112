/** Text for the explain panel: numbers, names and rankings. Pure, DOM-free. */
import type { MethodMetrics } from '../../../src/shared/protocol';
import type { Preprocessing } from '../../../src/shared/modelFormats';

export interface Ranked {
  index: number;
  probability: number;
}

/** The k largest entries, largest first; ties keep the lower index first. Non-finite values rank last. */
export function topK(probabilities: ArrayLike<number>, k: number): Ranked[] {
  const all: Ranked[] = [];
  for (let i = 0; i < probabilities.length; i++) all.push({ index: i, probability: probabilities[i] });
  const key = (p: number) => (Number.isFinite(p) ? p : -Infinity);
  all.sort((a, b) => key(b.probability) - key(a.probability) || a.index - b.index);
  return all.slice(0, Math.max(0, Math.floor(k)));
}

/** Display name of class `index`: its name when the model has one, else "class N". */
export function className(names: readonly string[] | undefined, index: number): string {
  const n = names?.[index];
  return n !== undefined && n !== '' ? n : `class ${index}`;
}

/** A probability as a percentage: "99.94 %", "0.05 %", "< 0.01 %" for tiny values, "–" for non-finite. */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return '–';
  const pct = p * 100;
  if (pct > 0 && pct < 0.005) return '< 0.01 %';
  return `${pct.toFixed(2)} %`;
}

/** A duration: "3.2 ms" under 10 ms, else whole milliseconds ("1371 ms"). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '– ms';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** A number with `digits` decimals, "–" when not finite. */
export function formatNumber(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/** The file name without folders and without the last extension: "/a/b/digit-7.png" → "digit-7". */
export function fileStem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return stem || 'image';
}

/** The name a saved view gets: "digit-7.gradcam.png". `view` is reduced to [A-Za-z0-9_-]. */
export function pngName(imagePath: string, view: string): string {
  const v = view.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'view';
  return `${fileStem(imagePath)}.${v}.png`;
}

/** Progress text: "3/7: Score-CAM"; without a total (0) just the message. */
export function formatProgress(done: number, total: number, message: string): string {
  if (!(total > 0)) return message;
  return message ? `${done}/${total}: ${message}` : `${done}/${total}`;
}

export interface MetricVerdict {
  /** Deletion AUC below the random-order value: removing the most relevant pixels first hurts faster. */
  deletionBetter: boolean;
  /** Insertion AUC above the random-order value: adding the most relevant pixels first helps faster. */
  insertionBetter: boolean;
}

/** Whether a method beats the random pixel order on deletion (lower is better) and insertion (higher is better). */
export function metricVerdict(m: MethodMetrics): MetricVerdict {
  return {
    deletionBetter: m.deletionAuc < m.randomDeletionAuc,
    insertionBetter: m.insertionAuc > m.randomInsertionAuc,
  };
}

/** A model's preprocessing in one line: "[0, 255] BGR − mean [103.94, 116.78, 123.68]", "[-1, 1] RGB", … */
export function formatPreprocessing(p: Preprocessing): string {
  const list = (v: number[]) => `[${v.map((x) => Number(x.toFixed(3))).join(', ')}]`;
  const parts = [`${list(p.range)} ${p.channelOrder.toUpperCase()}`];
  if (p.mean) parts.push(`− mean ${list(p.mean)}`);
  if (p.std) parts.push(`÷ std ${list(p.std)}`);
  if (p.background && p.background !== 'any') parts.push(`${p.background} background`);
  return parts.join(' ');
}

/** The sample counts and batch a method chose (they scale with the model's cost): "1000 samples · batch 32". */
export function formatSizes(s: { samples?: number; steps?: number; maps?: number; segments?: number; batch?: number } | undefined): string {
  if (!s) return '';
  const parts: string[] = [];
  const count = (n: number | undefined, what: string) => n !== undefined && parts.push(`${n} ${what}${n === 1 ? '' : 's'}`);
  count(s.samples, 'sample');
  count(s.steps, 'step');
  count(s.maps, 'map');
  count(s.segments, 'segment');
  if (s.batch !== undefined) parts.push(`batch ${s.batch}`);
  return parts.join(' · ');
}
