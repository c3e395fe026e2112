/**
 * Pure helpers for showing a training run: TensorBoard's curve smoothing, the task terminal's Keras-style epoch line,
 * and the confusion matrix as rows of cells ready to draw. Shared by the extension host (terminal) and the dashboard
 * webview (charts, matrix). Imports nothing.
 */

/**
 * TensorBoard's scalar smoothing: an exponential moving average with weight `weight` in [0, 1), debiased like Adam's
 * moments (divided by 1 − weight^n) so the curve does not start at zero. Non-finite points pass through unchanged and
 * do not move the average; a constant series is returned as it is (TensorBoard does the same, avoiding rounding).
 */
export function smooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  const first = values[0];
  if (values.every((v) => v === first)) return [...values];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return weight === 0 ? v : last / (1 - weight ** n);
  });
}

/** Keras' number format in progress lines: 4 decimals, or 4 significant decimals in exponent form when |v| ≤ 1e-3. */
export function kerasNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  // JavaScript writes 1.0000e-3 where Python writes 1.0000e-03.
  return Math.abs(v) > 1e-3 ? v.toFixed(4) : v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Keras' ETA format: "45s", "1:23" (m:ss), "1:02:03" (h:mm:ss). */
export function kerasDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const pad = (x: number) => String(x).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  if (s >= 60) return `${Math.floor(s / 60)}:${pad(s % 60)}`;
  return `${s}s`;
}

export interface EpochLineInput {
  epoch: number;
  epochs: number;
  seconds: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  /** Seconds left for the remaining epochs; omitted after the last epoch. */
  etaSeconds?: number;
}

/**
 * One line per epoch, as Keras' `fit(verbose=2)` prints it, plus the learning rate and the ETA:
 * `Epoch 3/10 - 12s - loss: 0.1234 - accuracy: 0.9612 - val_loss: 0.0567 - val_accuracy: 0.9822 - lr: 0.0010 - ETA: 1:24`.
 */
export function kerasEpochLine(e: EpochLineInput): string {
  const parts = [
    `Epoch ${e.epoch}/${e.epochs}`,
    `${Math.round(e.seconds)}s`,
    `loss: ${kerasNumber(e.trainLoss)}`,
    `accuracy: ${kerasNumber(e.trainAccuracy)}`,
  ];
  if (e.valLoss !== null && Number.isFinite(e.valLoss)) parts.push(`val_loss: ${kerasNumber(e.valLoss)}`);
  if (e.valAccuracy !== null && Number.isFinite(e.valAccuracy)) parts.push(`val_accuracy: ${kerasNumber(e.valAccuracy)}`);
  parts.push(`lr: ${kerasNumber(e.learningRate)}`);
  if (e.etaSeconds !== undefined && e.epoch < e.epochs) parts.push(`ETA: ${kerasDuration(e.etaSeconds)}`);
  return parts.join(' - ');
}

/** Seconds left after `done` of `total` epochs, from the mean duration of the epochs measured in this run. */
export function remainingSeconds(epochSeconds: readonly number[], done: number, total: number): number {
  if (!epochSeconds.length) return NaN;
  const mean = epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length;
  return mean * Math.max(0, total - done);
}

export interface ConfusionCell {
  count: number;
  /** Share of the row (the true class) that went to this column: recall on the diagonal. 0 for an empty row. */
  fraction: number;
  diagonal: boolean;
}

export interface ConfusionView {
  labels: string[];
  /** rows[true][predicted]. */
  rows: ConfusionCell[][];
  rowTotals: number[];
  /** Per true class: the diagonal share (NaN for a class absent from the data). */
  recall: number[];
  accuracy: number;
  total: number;
}

/**
 * A confusion matrix (rows: true class, columns: predicted) as cells with counts and row shares, ready to draw as a
 * heat grid. Throws when the matrix is not square or its size does not match the class names.
 */
export function confusionView(matrix: readonly (readonly number[])[], classNames?: readonly string[]): ConfusionView {
  const k = matrix.length;
  if (matrix.some((r) => r.length !== k)) throw new Error(`confusion matrix must be square, got ${k} rows of lengths ${matrix.map((r) => r.length).join(', ')}`);
  if (classNames && classNames.length !== k) throw new Error(`confusion matrix has ${k} classes but ${classNames.length} class names`);
  const labels = classNames ? [...classNames] : Array.from({ length: k }, (_, i) => String(i));
  const rowTotals = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const rows = matrix.map((r, i) => r.map((count, j) => ({ count, fraction: rowTotals[i] ? count / rowTotals[i] : 0, diagonal: i === j })));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, r, i) => a + r[i], 0);
  return { labels, rows, rowTotals, recall: rows.map((r, i) => (rowTotals[i] ? r[i].fraction : NaN)), accuracy: total ? correct / total : NaN, total };
}
