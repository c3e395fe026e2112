/**
 * The dashboard's view of a run, folded from its training events: curves (x in fractional epochs), the latest
 * confusion matrix, the validation sample strip with its latest predictions, and the batch progress. Pure, so the
 * unit tests drive it with recorded events.
 */
import type { TrainingEvent, SampleWire, SamplePredictionWire } from '../../../src/shared/trainingEvents';

export interface Curves {
  /** Training loss/accuracy as the running mean within each epoch, at epoch − 1 + batch/batches. */
  trainX: number[];
  trainLoss: number[];
  trainAccuracy: number[];
  /** One point per finished epoch, at x = epoch. */
  epochX: number[];
  epochTrainLoss: number[];
  epochTrainAccuracy: number[];
  valLoss: (number | null)[];
  valAccuracy: (number | null)[];
  learningRate: number[];
}

export interface RunView {
  epochs: number;
  startEpoch: number;
  trainCount: number;
  validationCount: number;
  params: number;
  classNames?: string[];
  curves: Curves;
  confusion?: number[][];
  samples: SampleWire[];
  predictions: SamplePredictionWire[];
  progress?: { epoch: number; batch: number; batches: number; etaSeconds: number; imagesPerSecond: number };
  done?: { cancelled: boolean; testAccuracy?: number };
  earlyStop?: number;
}

export function emptyView(): RunView {
  return {
    epochs: 0, startEpoch: 1, trainCount: 0, validationCount: 0, params: 0, samples: [], predictions: [],
    curves: { trainX: [], trainLoss: [], trainAccuracy: [], epochX: [], epochTrainLoss: [], epochTrainAccuracy: [], valLoss: [], valAccuracy: [], learningRate: [] },
  };
}

/** Folds one event into the view (mutates and returns it; the Svelte component reassigns). */
export function applyEvent(v: RunView, ev: TrainingEvent): RunView {
  const c = v.curves;
  switch (ev.type) {
    case 'start':
      Object.assign(v, { epochs: ev.epochs, startEpoch: ev.startEpoch, trainCount: ev.trainCount, validationCount: ev.validationCount, params: ev.params });
      if (ev.classNames) v.classNames = ev.classNames;
      if (ev.samples) v.samples = ev.samples;
      break;
    case 'progress':
      c.trainX.push(ev.epoch - 1 + ev.batch / ev.batches);
      c.trainLoss.push(ev.loss);
      c.trainAccuracy.push(ev.accuracy);
      v.progress = { epoch: ev.epoch, batch: ev.batch, batches: ev.batches, etaSeconds: ev.etaSeconds, imagesPerSecond: ev.imagesPerSecond };
      break;
    case 'epoch': {
      const r = ev.record;
      c.epochX.push(r.epoch);
      c.epochTrainLoss.push(r.trainLoss);
      c.epochTrainAccuracy.push(r.trainAccuracy);
      c.valLoss.push(Number.isFinite(r.valLoss) ? r.valLoss : null);
      c.valAccuracy.push(Number.isFinite(r.valAccuracy) ? r.valAccuracy : null);
      c.learningRate.push(r.learningRate);
      if (ev.confusion) v.confusion = ev.confusion;
      if (ev.samples) v.predictions = ev.samples;
      break;
    }
    case 'early-stop':
      v.earlyStop = ev.epoch;
      break;
    case 'done':
      v.done = { cancelled: ev.cancelled, testAccuracy: ev.card.metrics?.testAccuracy };
      if (!v.classNames && ev.card.classNames) v.classNames = ev.card.classNames;
      v.progress = undefined;
      break;
    default:
      break;
  }
  return v;
}

export function viewOf(events: readonly TrainingEvent[]): RunView {
  return events.reduce(applyEvent, emptyView());
}

/**
 * Two or more (x, y) series on one x axis, as uPlot's aligned data: the sorted union of the xs, each series null where
 * it has no point (drawn with spanGaps).
 */
export function alignSeries(series: readonly { x: readonly number[]; y: readonly (number | null)[] }[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => (out[index.get(x)!] = s.y[i] ?? null));
    return out;
  });
  return [xs, ...ys];
}

/** One line of a chart. */
export interface ChartSeries {
  label: string;
  x: number[];
  y: (number | null)[];
  /** A --vscode-charts-* colour name: blue, red, green, yellow, orange, purple. */
  color: string;
  /** Smooth with the chart's weight and show the raw values faint behind. */
  smoothed?: boolean;
}
