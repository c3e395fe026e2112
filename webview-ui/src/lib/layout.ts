/**
 * Pure helpers of the explain panel's layout: the attribution value under the cursor and the order of the metrics
 * table. DOM-free, unit-tested in Node.
 */
import type { HeatmapPayload, MethodMetrics } from '../../../src/shared/protocol';

/**
 * The heatmap cell under a point given as fractions of the displayed picture (0..1 across, 0..1 down), with its value;
 * undefined outside the picture.
 */
export function valueAt(map: Pick<HeatmapPayload, 'width' | 'height' | 'data'>, fx: number, fy: number): { x: number; y: number; value: number } | undefined {
  if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return undefined;
  const x = Math.min(map.width - 1, Math.floor(fx * map.width));
  const y = Math.min(map.height - 1, Math.floor(fy * map.height));
  const value = map.data[y * map.width + x];
  return value === undefined ? undefined : { x, y, value };
}

export type MetricColumn = 'method' | keyof MethodMetrics;
export type SortDirection = 'ascending' | 'descending';

export interface MetricRow {
  method: string;
  label: string;
  metrics: MethodMetrics;
}

/** The direction a column sorts in when first clicked: the better values first (lower deletion AUC, higher others). */
export function defaultDirection(column: MetricColumn): SortDirection {
  return column === 'deletionAuc' || column === 'randomDeletionAuc' || column === 'method' ? 'ascending' : 'descending';
}

/** Rows sorted by `column`; ties (and non-finite values, which go last) keep the given order. */
export function sortMetricRows(rows: readonly MetricRow[], column: MetricColumn, direction: SortDirection): MetricRow[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const keyed = rows.map((r, i) => ({ r, i }));
  keyed.sort((a, b) => {
    if (column === 'method') return sign * a.r.label.localeCompare(b.r.label) || a.i - b.i;
    const va = a.r.metrics[column];
    const vb = b.r.metrics[column];
    const fa = Number.isFinite(va);
    const fb = Number.isFinite(vb);
    if (fa !== fb) return fa ? -1 : 1;
    if (!fa) return a.i - b.i;
    return sign * (va - vb) || a.i - b.i;
  });
  return keyed.map((k) => k.r);
}
