/**
 * Pure image arithmetic over `RasterImage` (HWC Float32 in 0..1). No TensorFlow.js here: data loading and the CLI
 * must work before (and without) a backend, and these loops are small enough that plain typed arrays are fast.
 * No function mutates its input; a function may return its input unchanged when there is nothing to do.
 */
import { LUMA } from '../../shared/pixels';

export type Channels = 1 | 3 | 4;

export interface RasterImage {
  width: number;
  height: number;
  channels: Channels;
  /** Row-major height × width × channels, values 0..1. */
  data: Float32Array;
}

/** [height, width, channels], the order models use. */
export type ImageShape = [number, number, number];

export function createImage(width: number, height: number, channels: Channels, fill = 0): RasterImage {
  const data = new Float32Array(width * height * channels);
  if (fill !== 0) data.fill(fill);
  return { width, height, channels, data };
}

/** 8-bit samples to 0..1. */
export function fromBytes(bytes: ArrayLike<number>, width: number, height: number, channels: Channels): RasterImage {
  const n = width * height * channels;
  if (bytes.length !== n) throw new RangeError(`fromBytes: expected ${n} samples, got ${bytes.length}`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = bytes[i] / 255;
  return { width, height, channels, data };
}

/** 0..1 to 8-bit samples, rounded and clamped. */
export function toBytes(img: RasterImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(img.data[i] * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** ITU-R BT.601 luma weights (the ones MNIST-era tools and PIL's "L" mode use). */
const [LUMA_R, LUMA_G, LUMA_B] = LUMA;

/**
 * Converts between gray, RGB and RGBA. Alpha is composited on black (premultiplied), because MNIST-style data is a
 * light stroke on a black background: a transparent pixel must read as background (0), not as white. Gray → colour
 * replicates the value; colour → gray uses BT.601 luma; added alpha is opaque (1).
 */
export function toChannels(img: RasterImage, channels: Channels): RasterImage {
  const from = img.channels;
  if (from === channels) return img;
  const n = img.width * img.height;
  const src = img.data;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = p * from;
    let r: number, g: number, b: number, a: number;
    if (from === 1) {
      r = g = b = src[s];
      a = 1;
    } else {
      r = src[s];
      g = src[s + 1];
      b = src[s + 2];
      a = from === 4 ? src[s + 3] : 1;
    }
    const d = p * channels;
    if (channels === 1) {
      out[d] = (LUMA_R * r + LUMA_G * g + LUMA_B * b) * a;
    } else if (channels === 3) {
      out[d] = r * a;
      out[d + 1] = g * a;
      out[d + 2] = b * a;
    } else {
      out[d] = r;
      out[d + 1] = g;
      out[d + 2] = b;
      out[d + 3] = a;
    }
  }
  return { width: img.width, height: img.height, channels, data: out };
}

/**
 * Resampling weights for one axis: output i reads `count[i]` input samples starting at `offset[i]` in idx/weight.
 * Written here rather than via tf.image because data loading must not need a backend, and tf has no area resize.
 */
interface AxisWeights {
  offset: Int32Array;
  count: Int32Array;
  idx: Int32Array;
  weight: Float64Array;
}

function packWeights(lists: Array<Array<[number, number]>>): AxisWeights {
  const total = lists.reduce((s, l) => s + l.length, 0);
  const w: AxisWeights = {
    offset: new Int32Array(lists.length),
    count: new Int32Array(lists.length),
    idx: new Int32Array(total),
    weight: new Float64Array(total),
  };
  let k = 0;
  lists.forEach((l, i) => {
    w.offset[i] = k;
    w.count[i] = l.length;
    for (const [j, v] of l) {
      w.idx[k] = j;
      w.weight[k++] = v;
    }
  });
  return w;
}

/** Weights depend only on the sizes; caching them keeps converting a whole dataset (60000 same-size images) cheap. */
const weightCache = new Map<string, AxisWeights>();
const WEIGHT_CACHE_MAX = 64;

function cachedWeights(kind: 'bilinear' | 'area', inSize: number, outSize: number): AxisWeights {
  const key = `${kind}:${inSize}:${outSize}`;
  let w = weightCache.get(key);
  if (!w) {
    w = kind === 'bilinear' ? bilinearWeights(inSize, outSize) : areaWeights(inSize, outSize);
    if (weightCache.size >= WEIGHT_CACHE_MAX) weightCache.clear();
    weightCache.set(key, w);
  }
  return w;
}

/** Linear interpolation with half-pixel centres (as tf.image.resizeBilinear with halfPixelCenters). */
function bilinearWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const lists: Array<Array<[number, number]>> = [];
  for (let i = 0; i < outSize; i++) {
    const src = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
    const i0 = Math.floor(src);
    const f = src - i0;
    lists.push(f === 0 || i0 + 1 >= inSize ? [[i0, 1]] : [[i0, 1 - f], [i0 + 1, f]]);
  }
  return packWeights(lists);
}

/** Box filter: each output averages the input interval it covers, weighted by overlap, so shrinking doesn't alias. */
function areaWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const lists: Array<Array<[number, number]>> = [];
  for (let i = 0; i < outSize; i++) {
    const lo = i * scale;
    const hi = Math.min((i + 1) * scale, inSize);
    const l: Array<[number, number]> = [];
    for (let j = Math.floor(lo); j < hi; j++) {
      const overlap = Math.min(j + 1, hi) - Math.max(j, lo);
      if (overlap > 1e-12) l.push([j, overlap / (hi - lo)]);
    }
    lists.push(l);
  }
  return packWeights(lists);
}

/** Separable resampling: rows first, then columns. */
function resample(img: RasterImage, height: number, width: number, wy: AxisWeights, wx: AxisWeights): RasterImage {
  const { width: W, height: H, channels: C, data: src } = img;
  const tmp = new Float32Array(H * width * C);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < width; x++) {
      const o = wx.offset[x];
      const cnt = wx.count[x];
      const d = (y * width + x) * C;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < cnt; k++) acc += wx.weight[o + k] * src[row + wx.idx[o + k] * C + c];
        tmp[d + c] = acc;
      }
    }
  }
  const out = new Float32Array(height * width * C);
  const stride = width * C;
  for (let y = 0; y < height; y++) {
    const o = wy.offset[y];
    const cnt = wy.count[y];
    const d = y * stride;
    for (let k = 0; k < cnt; k++) {
      const wgt = wy.weight[o + k];
      const s = wy.idx[o + k] * stride;
      for (let i = 0; i < stride; i++) out[d + i] += wgt * tmp[s + i];
    }
  }
  return { width, height, channels: img.channels, data: out };
}

function checkSize(height: number, width: number): void {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`resize: target size must be positive integers, got ${height}×${width}`);
  }
}

export function resizeBilinear(img: RasterImage, height: number, width: number): RasterImage {
  checkSize(height, width);
  if (height === img.height && width === img.width) return img;
  return resample(img, height, width, cachedWeights('bilinear', img.height, height), cachedWeights('bilinear', img.width, width));
}

export function resizeArea(img: RasterImage, height: number, width: number): RasterImage {
  checkSize(height, width);
  if (height === img.height && width === img.width) return img;
  return resample(img, height, width, cachedWeights('area', img.height, height), cachedWeights('area', img.width, width));
}

/** Per axis: area averaging when shrinking (no aliasing on big photos), bilinear when growing (no blockiness). */
export function resizeAuto(img: RasterImage, height: number, width: number): RasterImage {
  checkSize(height, width);
  if (height === img.height && width === img.width) return img;
  const axis = (inSize: number, outSize: number) =>
    cachedWeights(outSize < inSize ? 'area' : 'bilinear', inSize, outSize);
  return resample(img, height, width, axis(img.height, height), axis(img.width, width));
}

/**
 * Converts any decoded image to a model's [h, w, c] input. Channel conversion happens at the smaller channel count
 * (before resizing when reducing, after when expanding) to do less work; alpha is composited on black first.
 */
export function toModelInput(img: RasterImage, shape: ImageShape): RasterImage {
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new RangeError(`toModelInput: channels must be 1, 3 or 4, got ${c}`);
  if (c < img.channels) return resizeAuto(toChannels(img, c), h, w);
  return toChannels(resizeAuto(img, h, w), c);
}

/** 1 - v for every sample: turns a dark stroke on a light page into MNIST's light stroke on black (alpha kept). */
export function invert(img: RasterImage): RasterImage {
  const out = new Float32Array(img.data.length);
  const C = img.channels;
  for (let i = 0; i < out.length; i++) out[i] = C === 4 && i % 4 === 3 ? img.data[i] : 1 - img.data[i];
  return { ...img, data: out };
}

/** Mean of all samples (alpha included); a quick "is this a light background?" test. */
export function meanValue(img: RasterImage): number {
  let s = 0;
  for (let i = 0; i < img.data.length; i++) s += img.data[i];
  return img.data.length ? s / img.data.length : 0;
}

/** Mean and standard deviation of a sample array, accumulated in float64. */
export function meanStd(data: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < data.length; i++) {
    s += data[i];
    s2 += data[i] * data[i];
  }
  const n = Math.max(data.length, 1);
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(s2 / n - mean * mean, 0)) };
}

/** (v - mean) / std into a new array; std 0 is treated as 1 so constant inputs stay finite. */
export function standardize(data: Float32Array, mean: number, std: number): Float32Array {
  const inv = 1 / (std || 1);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - mean) * inv;
  return out;
}

/** Clamps every sample to 0..1 in a new image. */
export function clamp01(img: RasterImage): RasterImage {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = img.data[i];
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { ...img, data: out };
}
