/**
 * Which debuggee values are images, and how their samples become pixels: shape layouts (HW, HWC, CHW, NHW, NHWC,
 * NCHW with a batch index), dtypes (uint8, float, bool) and value ranges ([0,1], [0,255], [−1,1], anything else by
 * min–max). Pure: no `vscode`, so it is unit-tested in Node; the debugger side only moves bytes.
 */
import type { ImagePayload } from '../../shared/protocol';

/** Largest single image (after slicing a batch) read through the debugger, in bytes. */
export const MAX_TRANSFER_BYTES = 64 * 1024 * 1024;

export type LayoutName = 'HW' | 'HWC' | 'CHW' | 'NHW' | 'NHWC' | 'NCHW';

export interface ImageLayout {
  layout: LayoutName;
  /** Batch size (1 without a batch axis). */
  batch: number;
  height: number;
  width: number;
  channels: 1 | 3 | 4;
}

/** Dtypes the helpers send: anything else is converted to float32 in the debuggee. */
export type TransferDtype = 'uint8' | 'float32';

const CHANNELS = new Set([1, 3, 4]);
/** Below this side length or beyond this aspect ratio a 2-D array is data, not a picture. */
const MIN_SIDE = 4;
const MAX_ASPECT = 32;

export class NotAnImageError extends Error {
  override readonly name = 'NotAnImageError';
}

function spatial(h: number, w: number): boolean {
  return h >= MIN_SIDE && w >= MIN_SIDE && Math.max(h, w) / Math.min(h, w) <= MAX_ASPECT;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * The image layout of a shape, channels last preferred when both readings fit (a [3, 224, 3] array is HWC).
 * Throws NotAnImageError with one line ("shape [3, 5000] is not an image") otherwise.
 */
export function interpretShape(shape: readonly number[]): ImageLayout {
  const bad = (why: string) => new NotAnImageError(`shape ${formatShape(shape)} is not an image (${why})`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad('invalid dimensions');
  if (shape.some((d) => d === 0)) throw bad('it is empty');
  const ch = (c: number) => c as 1 | 3 | 4;
  switch (shape.length) {
    case 2: {
      const [h, w] = shape;
      if (spatial(h, w)) return { layout: 'HW', batch: 1, height: h, width: w, channels: 1 };
      throw bad(`a ${h}×${w} grid is too thin for a picture`);
    }
    case 3: {
      const [a, b, c] = shape;
      if (CHANNELS.has(c) && spatial(a, b)) return { layout: 'HWC', batch: 1, height: a, width: b, channels: ch(c) };
      if (CHANNELS.has(a) && spatial(b, c)) return { layout: 'CHW', batch: 1, height: b, width: c, channels: ch(a) };
      if (spatial(b, c)) return { layout: 'NHW', batch: a, height: b, width: c, channels: 1 };
      throw bad('expected HW, HWC, CHW, NHWC or NCHW with 1, 3 or 4 channels');
    }
    case 4: {
      const [n, a, b, c] = shape;
      if (CHANNELS.has(c) && spatial(a, b)) return { layout: 'NHWC', batch: n, height: a, width: b, channels: ch(c) };
      if (CHANNELS.has(a) && spatial(b, c)) return { layout: 'NCHW', batch: n, height: b, width: c, channels: ch(a) };
      throw bad('expected NHWC or NCHW with 1, 3 or 4 channels');
    }
    default:
      throw bad(shape.length < 2 ? `${shape.length} dimension${shape.length === 1 ? '' : 's'}` : `${shape.length} dimensions`);
  }
}

/** Bytes of one image of the layout in the transfer dtype. */
export function imageBytes(l: ImageLayout, dtype: TransferDtype): number {
  return l.height * l.width * l.channels * (dtype === 'uint8' ? 1 : 4);
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Checks the batch index and the size limit; returns the index to read (null: the value has no batch axis). */
export function checkSlice(l: ImageLayout, dtype: TransferDtype, batchIndex = 0, limit = MAX_TRANSFER_BYTES): number | null {
  const bytes = imageBytes(l, dtype);
  if (bytes > limit) {
    throw new NotAnImageError(`one ${l.height}×${l.width}×${l.channels} ${dtype} image is ${formatBytes(bytes)}, above the ${formatBytes(limit)} the debugger transfer allows`);
  }
  if (l.batch === 1 && !l.layout.startsWith('N')) return null;
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= l.batch) {
    throw new NotAnImageError(`batch index ${batchIndex} is outside the batch of ${l.batch}`);
  }
  return batchIndex;
}

export type ValueRange = '[0,1]' | '[0,255]' | '[-1,1]' | 'min-max' | 'bool';

export interface Pixels {
  /** The image as the panel shows it: HWC, values in [0, 1]. */
  image: ImagePayload;
  /** The samples as they were in the debuggee (HWC float32), for models that take them as they are. */
  raw: Float32Array;
  range: ValueRange;
  min: number;
  max: number;
}

/** Decides how sample values map to [0, 1]: fixed ranges when the values fit one, min–max otherwise. */
export function detectRange(min: number, max: number, dtype: TransferDtype, sourceDtype: string): ValueRange {
  if (sourceDtype === 'bool') return 'bool';
  if (dtype === 'uint8') return '[0,255]';
  if (min >= 0 && max <= 1) return '[0,1]';
  if (min >= -1 && max <= 1) return '[-1,1]';
  if (min >= 0 && max <= 255) return '[0,255]';
  return 'min-max';
}

export function describeRange(r: ValueRange, min: number, max: number): string {
  switch (r) {
    case 'bool':
      return 'boolean mask';
    case 'min-max':
      return `values in [${min.toPrecision(3)}, ${max.toPrecision(3)}], shown by min–max`;
    default:
      return `values in ${r.replace('-1', '−1')}`;
  }
}

/**
 * Turns one image's samples (in the layout's order, batch already sliced away) into HWC pixels in [0, 1].
 * Non-finite samples (NaN, ±Inf) are refused: they have no colour.
 */
export function toPixels(samples: Uint8Array | Float32Array, l: ImageLayout, dtype: TransferDtype, sourceDtype: string): Pixels {
  const { height: h, width: w, channels: c } = l;
  const n = h * w * c;
  if (samples.length !== n) throw new NotAnImageError(`expected ${n} samples for a ${h}×${w}×${c} image, got ${samples.length}`);
  const raw = new Float32Array(n);
  const chw = l.layout === 'CHW' || l.layout === 'NCHW';
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) raw[(y * w + x) * c + k] = samples[chw ? (k * h + y) * w + x : (y * w + x) * c + k];
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    if (!Number.isFinite(v)) throw new NotAnImageError(`the image holds a non-finite value (${v}) at sample ${i}`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = detectRange(min, max, dtype, sourceDtype);
  const data = new Array<number>(n);
  const span = max - min;
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    data[i] =
      range === '[0,1]' || range === 'bool' ? v
      : range === '[0,255]' ? v / 255
      : range === '[-1,1]' ? (v + 1) / 2
      : span > 0 ? (v - min) / span : 0;
  }
  return { image: { width: w, height: h, channels: c, data }, raw, range, min, max };
}

/** Little-endian bytes to samples of the transfer dtype. */
export function samplesFromBytes(bytes: Uint8Array, dtype: TransferDtype): Uint8Array | Float32Array {
  if (dtype === 'uint8') return bytes;
  if (bytes.byteLength % 4 !== 0) throw new NotAnImageError(`${bytes.byteLength} bytes is not a whole number of float32 samples`);
  // Copy into an aligned buffer: a Buffer from base64 may start at any offset.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  return new Float32Array(aligned.buffer);
}
