/**
 * Small statistics used to evaluate explanations: deletion/insertion curve areas, rank agreement between heatmaps,
 * how concentrated a heatmap is, and the size of a perturbation. Plain loops over typed arrays; no TensorFlow.js.
 */

/**
 * Area under a curve by the trapezoidal rule. `xs` defaults to evenly spaced points on [0, 1] (a deletion curve over
 * the fraction of pixels removed). Fewer than two points give 0. Decreasing xs give a negative area.
 */
export function trapezoidAuc(ys: ArrayLike<number>, xs?: ArrayLike<number>): number {
  const n = ys.length;
  if (xs && xs.length !== n) throw new RangeError(`trapezoidAuc: ${n} ys but ${xs.length} xs`);
  if (n < 2) return 0;
  let area = 0;
  for (let i = 1; i < n; i++) {
    const dx = xs ? xs[i] - xs[i - 1] : 1 / (n - 1);
    area += (dx * (ys[i] + ys[i - 1])) / 2;
  }
  return area;
}

/** Ranks 1..n with ties given their average rank (the "fractional" ranking Spearman's ρ needs). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : a - b));
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const r = (i + 1 + j) / 2; // mean of the 1-based ranks i+1..j
    for (let k = i; k < j; k++) ranks[order[k]] = r;
    i = j;
  }
  return ranks;
}

/** Pearson correlation; 0 when either input is constant (no variation to correlate) or has fewer than 2 values. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`pearson: lengths differ (${n} vs ${b.length})`);
  if (n < 2) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (!(saa > 0 && sbb > 0)) return 0;
  const r = sab / Math.sqrt(saa * sbb);
  return Math.max(-1, Math.min(1, r));
}

/**
 * Spearman's rank correlation: Pearson correlation of the average ranks (ties share their mean rank). Never NaN:
 * pairs where either value is NaN are left out, and a constant input (all ties) or fewer than two pairs give 0,
 * read as "no rank agreement measurable".
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`spearman: lengths differ (${n} vs ${b.length})`);
  let keep = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) keep++;
  let xa: ArrayLike<number> = a;
  let xb: ArrayLike<number> = b;
  if (keep < n) {
    const fa = new Float64Array(keep);
    const fb = new Float64Array(keep);
    for (let i = 0, k = 0; i < n; i++) {
      if (Number.isNaN(a[i]) || Number.isNaN(b[i])) continue;
      fa[k] = a[i];
      fb[k++] = b[i];
    }
    xa = fa;
    xb = fb;
  }
  if (keep < 2) return 0;
  return pearson(averageRanks(xa), averageRanks(xb));
}

/**
 * How concentrated a heatmap is: the share of its total positive mass held by its top `topFraction` of pixels
 * (negative values count as 0: evidence against the class is not "attention"). The top fraction may be fractional in
 * pixels — k = topFraction·n, the last pixel counted pro rata — so a uniform map scores exactly `topFraction`, a
 * one-hot map scores 1, and an all-zero (or all-negative) map scores 0. NaNs count as 0.
 */
export function clarity(heatmap: ArrayLike<number>, topFraction = 0.1): number {
  if (!(topFraction > 0 && topFraction <= 1)) {
    throw new RangeError(`clarity: topFraction must be in (0, 1], got ${topFraction}`);
  }
  const n = heatmap.length;
  const pos = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = heatmap[i];
    const p = v > 0 ? v : 0;
    pos[i] = p;
    total += p;
  }
  if (!(total > 0) || !Number.isFinite(total)) return 0;
  pos.sort(); // ascending; the top values are at the end
  const k = topFraction * n;
  const whole = Math.floor(k);
  let top = 0;
  for (let i = 0; i < whole; i++) top += pos[n - 1 - i];
  if (whole < n) top += (k - whole) * pos[n - 1 - whole];
  return Math.min(1, top / total);
}

export interface Norms {
  /** Number of entries with |d| > tol. */
  l0: number;
  l1: number;
  l2: number;
  linf: number;
}

/** Size of a perturbation (e.g. counterfactual minus original): L0 (entries above `tol`), L1, L2 and L∞ norms. */
export function norms(diff: ArrayLike<number>, tol = 1e-6): Norms {
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let linf = 0;
  for (let i = 0; i < diff.length; i++) {
    const a = Math.abs(diff[i]);
    if (a > tol) l0++;
    l1 += a;
    l2 += a * a;
    if (a > linf) linf = a;
  }
  return { l0, l1, l2: Math.sqrt(l2), linf };
}

/**
 * Pixel indices by decreasing value, ties in increasing index order, so the order is deterministic. NaN ranks as
 * −Infinity (last). This is the order deletion/insertion curves remove or add pixels in.
 */
export function rankOrder(heatmap: ArrayLike<number>): Int32Array {
  const n = heatmap.length;
  // Sort keys: NaN → −Infinity so it goes last; ties fall back to the index.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = Number.isNaN(heatmap[i]) ? -Infinity : heatmap[i];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (keys[b] > keys[a] ? 1 : keys[b] < keys[a] ? -1 : a - b));
  return order;
}

/** The indices of the k largest values, in `rankOrder` order (k is clamped to 0..n). */
export function topK(heatmap: ArrayLike<number>, k: number): Int32Array {
  if (!(k >= 0)) throw new RangeError(`topK: k must be ≥ 0, got ${k}`);
  return rankOrder(heatmap).slice(0, Math.min(Math.floor(k), heatmap.length));
}
