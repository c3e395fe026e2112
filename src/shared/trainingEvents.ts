/**
 * The training events as they arrive over the wire: one JSON object per line on the stdout of `xai-lens train --json`
 * and `xai-lens finetune --json` (the engine's TrainEvent, see src/engine/training/trainer.ts and docs/training.md).
 * The fields the dashboard and the task terminal read are declared here so neither imports the engine; fields the
 * engine added later (class names, confusion matrix, sample strip) are optional, so an older engine still drives the
 * curves. Imports nothing.
 */

export interface EpochRecordWire {
  epoch: number;
  learningRate: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface SampleWire {
  index: number;
  label: number;
  /** base64 PNG of the image as the model sees it. */
  png: string;
}

export interface SamplePredictionWire {
  index: number;
  predicted: number;
  confidence: number;
}

export type TrainingEvent =
  | {
      type: 'start'; epochs: number; startEpoch: number; trainCount: number; validationCount: number; params: number; macsPerImage: number;
      classNames?: string[]; samples?: SampleWire[]; notes?: string[];
    }
  | { type: 'progress'; epoch: number; epochs: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number; etaSeconds: number }
  | { type: 'epoch'; record: EpochRecordWire; improved: boolean; confusion?: number[][]; samples?: SamplePredictionWire[]; frozen?: number }
  | { type: 'checkpoint'; dir: string; epoch: number }
  | { type: 'learning-rate'; from: number; to: number }
  | { type: 'early-stop'; epoch: number }
  | { type: 'done'; cancelled: boolean; card: { name: string; classNames?: string[]; metrics?: { testAccuracy?: number; testLoss?: number } } };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function numbers(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const bad = keys.find((k) => !isNum(o[k]));
  return bad === undefined ? undefined : `"${bad}" is not a number`;
}

const EPOCH_KEYS = ['epoch', 'learningRate', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'seconds', 'imagesPerSecond'] as const;

/** Why `o` is not a well-formed event of its type (undefined when it is). */
function problem(o: Record<string, unknown>): string | undefined {
  switch (o.type) {
    case 'start':
      return numbers(o, ['epochs', 'startEpoch', 'trainCount', 'validationCount', 'params', 'macsPerImage']);
    case 'progress':
      return numbers(o, ['epoch', 'epochs', 'batch', 'batches', 'loss', 'accuracy', 'imagesPerSecond']);
    case 'epoch': {
      if (!isObj(o.record)) return '"record" is missing';
      // valLoss may be NaN-free only when a validation split exists; JSON turns NaN into null, which we accept.
      const r = o.record;
      const bad = EPOCH_KEYS.find((k) => !isNum(r[k]) && !(r[k] === null && (k === 'valLoss' || k === 'valAccuracy')));
      if (bad) return `"record.${bad}" is not a number`;
      if (o.confusion !== undefined && !(Array.isArray(o.confusion) && o.confusion.every((row) => Array.isArray(row) && row.every(isNum)))) {
        return '"confusion" is not a matrix of numbers';
      }
      return undefined;
    }
    case 'checkpoint':
      return typeof o.dir === 'string' ? numbers(o, ['epoch']) : '"dir" is not a string';
    case 'learning-rate':
      return numbers(o, ['from', 'to']);
    case 'early-stop':
      return numbers(o, ['epoch']);
    case 'done':
      return typeof o.cancelled === 'boolean' && isObj(o.card) ? undefined : '"cancelled" or "card" is missing';
    default:
      return `unknown event type ${JSON.stringify(o.type)}`;
  }
}

/**
 * One stdout line → an event. Lines that are not JSON objects (a library's stray log line) give undefined; a JSON
 * object that is not a well-formed event throws, naming what is wrong, since that means the engine and the extension
 * disagree about the schema.
 */
export function parseTrainingEvent(line: string): TrainingEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(value)) return undefined;
  const why = problem(value);
  if (why) throw new Error(`training event ${String(value.type)}: ${why}`);
  return value as TrainingEvent;
}

/** Splits a stream of chunks into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}
