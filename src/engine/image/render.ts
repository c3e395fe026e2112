/**
 * Rendering of explanations as pure functions over `RasterImage`: colormaps, heatmap normalization, overlays,
 * pixel-exact upscaling, CAM resizing and montage. Used to write explanation PNGs in the engine and to produce the
 * arrays sent to the webview, so nothing here touches TensorFlow.js or a canvas. No function mutates its input.
 */
import { XaiLensError } from '../errors';
import { encodePng } from './decode';
import { type Channels, type RasterImage, resizeBilinear, toChannels } from './imageMath';

export type Colormap = 'viridis' | 'jet' | 'inferno' | 'gray' | 'redblue';

export const COLORMAPS: readonly Colormap[] = ['viridis', 'jet', 'inferno', 'gray', 'redblue'];

/** Entries per lookup table: one per 8-bit output level, so a PNG cannot show the quantization. */
const LUT_SIZE = 256;

// Colormaps are written here rather than imported: the npm colormap packages return CSS strings or arrays of arrays
// per call, while rendering wants one flat Float32Array table per map and must not pull in a browser dependency.

/** Colour stops [position, r, g, b] with 8-bit components, interpolated linearly. */
type Stops = ReadonlyArray<readonly [number, number, number, number]>;

function evenStops(hex: string[]): Stops {
  return hex.map((h, i) => {
    const v = parseInt(h.slice(1), 16);
    return [i / (hex.length - 1), (v >> 16) & 255, (v >> 8) & 255, v & 255] as const;
  });
}

/** matplotlib's viridis sampled at 11 evenly spaced points (the values R's viridis(11) publishes). */
const VIRIDIS = evenStops([
  '#440154', '#482576', '#414487', '#35608d', '#2a788e', '#21908c', '#22a884', '#43bf71', '#7ad151', '#bbdf27',
  '#fde725',
]);

/** matplotlib's inferno sampled at 11 evenly spaced points (R's inferno(11)). */
const INFERNO = evenStops([
  '#000004', '#160b39', '#420a68', '#6a176e', '#932667', '#bc3754', '#dd513a', '#f37819', '#fca50a', '#f6d746',
  '#fcffa4',
]);

/**
 * ColorBrewer RdBu (reversed: blue for low) with a pure-white centre, so zero attribution reads as "nothing". 0.5
 * falls between table entries 127 and 128, so both are white: each half is stretched over its 128 entries and the
 * table stays symmetric.
 */
const REDBLUE: Stops = (() => {
  const half = 127 / 255;
  const squeeze = (stops: Stops, from: number) => stops.map(([t, r, g, b]) => [from + t * half, r, g, b] as const);
  const blue = squeeze(evenStops(['#2166ac', '#67a9cf', '#d1e5f0', '#ffffff']), 0);
  const red = squeeze(evenStops(['#ffffff', '#fddbc7', '#ef8a62', '#b2182b']), 1 - half);
  return [...blue, ...red];
})();

function interpStops(stops: Stops, t: number): [number, number, number] {
  let i = 1;
  while (i < stops.length - 1 && stops[i][0] < t) i++;
  const [x0, r0, g0, b0] = stops[i - 1];
  const [x1, r1, g1, b1] = stops[i];
  const f = x1 > x0 ? Math.min(Math.max((t - x0) / (x1 - x0), 0), 1) : 0;
  return [(r0 + f * (r1 - r0)) / 255, (g0 + f * (g1 - g0)) / 255, (b0 + f * (b1 - b0)) / 255];
}

/** Piecewise-linear function through [x, y] points (matplotlib's segment data, without discontinuities). */
function piecewise(points: ReadonlyArray<readonly [number, number]>, t: number): number {
  let i = 1;
  while (i < points.length - 1 && points[i][0] < t) i++;
  const [x0, y0] = points[i - 1];
  const [x1, y1] = points[i];
  const f = x1 > x0 ? Math.min(Math.max((t - x0) / (x1 - x0), 0), 1) : 0;
  return y0 + f * (y1 - y0);
}

/** matplotlib's jet segment data: dark blue → blue → cyan → yellow → red → dark red. */
const JET_R = [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]] as const;
const JET_G = [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]] as const;
const JET_B = [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]] as const;

function mapAt(map: Colormap, t: number): [number, number, number] {
  switch (map) {
    case 'viridis':
      return interpStops(VIRIDIS, t);
    case 'inferno':
      return interpStops(INFERNO, t);
    case 'redblue':
      return interpStops(REDBLUE, t);
    case 'jet':
      return [piecewise(JET_R, t), piecewise(JET_G, t), piecewise(JET_B, t)];
    case 'gray':
      return [t, t, t];
  }
}

const lutCache = new Map<Colormap, Float32Array>();

/** The 256-entry RGB table of a colormap (flat, r g b per entry, 0..1); built once per map. Do not mutate. */
export function colormapTable(map: Colormap): Float32Array {
  let lut = lutCache.get(map);
  if (!lut) {
    if (!COLORMAPS.includes(map)) {
      throw new XaiLensError(`unknown colormap "${String(map)}": expected one of ${COLORMAPS.join(', ')}`);
    }
    lut = new Float32Array(LUT_SIZE * 3);
    for (let i = 0; i < LUT_SIZE; i++) lut.set(mapAt(map, i / (LUT_SIZE - 1)), i * 3);
    lutCache.set(map, lut);
  }
  return lut;
}

/** Table index of a value in 0..1; out-of-range values clamp and NaN reads as 0. */
function lutIndex(v: number): number {
  const i = Math.round(v * (LUT_SIZE - 1));
  return i > 0 ? (i < LUT_SIZE ? i : LUT_SIZE - 1) : 0;
}

/** The colour of `value01` (clamped to 0..1) as [r, g, b] in 0..1, read from the map's 256-entry table. */
export function colormap(value01: number, map: Colormap): [number, number, number] {
  const lut = colormapTable(map);
  const i = lutIndex(value01) * 3;
  return [lut[i], lut[i + 1], lut[i + 2]];
}

/**
 * Maps a heatmap to 0..1 for a colormap, in a new array.
 * - unsigned: (v − min) / (max − min). A constant map (max = min) gives all zeros: no pixel stands out.
 * - signed: v / max|v| puts the map in [−1, 1] keeping zero at zero (so the sign stays readable), then (v + 1) / 2
 *   maps it to [0, 1] with zero at 0.5, the white centre of the diverging 'redblue' map. An all-zero map gives 0.5.
 * Non-finite values (NaN, ±Infinity) are ignored when finding the range and come out as the "nothing" value
 * (0 unsigned, 0.5 signed), so one bad pixel cannot blank the whole map.
 */
export function normalizeHeatmap(data: Float32Array, signed: boolean): Float32Array {
  const out = new Float32Array(data.length);
  if (signed) {
    let m = 0;
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]);
      if (a > m && a !== Infinity) m = a;
    }
    const inv = m > 0 ? 1 / m : 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      out[i] = Number.isFinite(v) ? (v * inv + 1) / 2 : 0.5;
    }
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return out; // constant (or empty / all non-finite)
  const inv = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = Number.isFinite(v) ? (v - lo) * inv : 0;
  }
  return out;
}

function checkMap(data: ArrayLike<number>, height: number, width: number, what: string): void {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`${what}: size must be positive integers, got ${height}×${width}`);
  }
  if (data.length !== height * width) {
    throw new RangeError(`${what}: expected ${height}×${width} = ${height * width} values, got ${data.length}`);
  }
}

/** A heatmap (h × w values) normalized with `normalizeHeatmap` and coloured: an RGB image. */
export function heatmapToImage(
  data: Float32Array,
  width: number,
  height: number,
  map: Colormap,
  signed: boolean,
): RasterImage {
  checkMap(data, height, width, 'heatmapToImage');
  const lut = colormapTable(map);
  const norm = normalizeHeatmap(data, signed);
  const out = new Float32Array(norm.length * 3);
  for (let p = 0; p < norm.length; p++) {
    const i = lutIndex(norm[p]) * 3;
    out[p * 3] = lut[i];
    out[p * 3 + 1] = lut[i + 1];
    out[p * 3 + 2] = lut[i + 2];
  }
  return { width, height, channels: 3, data: out };
}

/** Alpha blend (1 − opacity)·base + opacity·heat, both as RGB; sizes must match. Opacity 0 is base, 1 is heat. */
export function overlay(base: RasterImage, heat: RasterImage, opacity: number): RasterImage {
  if (!(opacity >= 0 && opacity <= 1)) {
    throw new XaiLensError(`overlay opacity must be between 0 and 1, got ${opacity}`);
  }
  if (base.width !== heat.width || base.height !== heat.height) {
    throw new RangeError(
      `overlay: heatmap is ${heat.width}×${heat.height} but the image is ${base.width}×${base.height}`,
    );
  }
  const b = toChannels(base, 3).data;
  const h = toChannels(heat, 3).data;
  const out = new Float32Array(b.length);
  const keep = 1 - opacity;
  for (let i = 0; i < out.length; i++) out[i] = keep * b[i] + opacity * h[i];
  return { width: base.width, height: base.height, channels: 3, data: out };
}

/** Each pixel becomes a factor × factor block: pixel-exact (no blur), so small inputs stay crisp when enlarged. */
export function upscaleNearest(img: RasterImage, factor: number): RasterImage {
  if (!(Number.isInteger(factor) && factor >= 1)) {
    throw new RangeError(`upscaleNearest: factor must be a positive integer, got ${factor}`);
  }
  if (factor === 1) return img;
  const { width: W, height: H, channels: C, data: src } = img;
  const outW = W * factor;
  const rowLen = outW * C;
  const out = new Float32Array(rowLen * H * factor);
  for (let y = 0; y < H; y++) {
    const first = y * factor * rowLen;
    // Build one output row, then copy it for the remaining factor − 1 rows of the block.
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * C;
      for (let k = 0; k < factor; k++) {
        const d = first + (x * factor + k) * C;
        for (let c = 0; c < C; c++) out[d + c] = src[s + c];
      }
    }
    for (let r = 1; r < factor; r++) out.copyWithin(first + r * rowLen, first, first + rowLen);
  }
  return { width: outW, height: H * factor, channels: C, data: out };
}

/** The smallest integer factor f ≥ 1 with min(width, height)·f ≥ minSide (28 px → 256 px: f = 10). */
export function upscaleFactor(width: number, height: number, minSide: number): number {
  const side = Math.min(width, height);
  if (!(side > 0)) throw new RangeError(`upscaleFactor: image is ${width}×${height}`);
  return Math.max(1, Math.ceil(minSide / side));
}

/** Nearest-neighbour upscale by `upscaleFactor`, so small images render large without interpolation blur. */
export function upscaleToAtLeast(img: RasterImage, minSide: number): RasterImage {
  return upscaleNearest(img, upscaleFactor(img.width, img.height, minSide));
}

/**
 * Bilinear resize of an h × w map (a CAM at layer resolution) to outH × outW, with align-corners off and half-pixel
 * centres: the same values as tf.image.resizeBilinear(x, size, false, true). A new array is always returned.
 */
export function resizeMapBilinear(data: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  checkMap(data, h, w, 'resizeMapBilinear');
  const out = resizeBilinear({ width: w, height: h, channels: 1, data }, outH, outW).data;
  return out === data ? data.slice() : out;
}

/**
 * Where `changed` differs from `original`, by intensity (BT.601 luma, alpha composited on black): red where the
 * change added intensity, blue where it removed it, white where nothing changed; the strength is |diff| / max|diff|.
 * Differences within 1e-6 (float noise) count as unchanged, so two equal images give an all-white image.
 */
export function signedDiffImage(original: RasterImage, changed: RasterImage): RasterImage {
  if (original.width !== changed.width || original.height !== changed.height) {
    throw new RangeError(
      `signedDiffImage: sizes differ (${original.width}×${original.height} vs ${changed.width}×${changed.height})`,
    );
  }
  const a = toChannels(original, 1).data;
  const b = toChannels(changed, 1).data;
  const n = a.length;
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(b[i] - a[i]));
  const inv = m > 1e-6 ? 1 / m : 0;
  const out = new Float32Array(n * 3).fill(1);
  for (let i = 0; i < n; i++) {
    const s = (b[i] - a[i]) * inv;
    if (s > 0) {
      out[i * 3 + 1] = 1 - s;
      out[i * 3 + 2] = 1 - s;
    } else if (s < 0) {
      out[i * 3] = 1 + s;
      out[i * 3 + 1] = 1 + s;
    }
  }
  return { width: original.width, height: original.height, channels: 3, data: out };
}

/**
 * Images placed left to right, top-aligned, `gap` pixels apart, on a `background` fill (default white). The output
 * keeps the common channel count when all images share one, else it is RGB.
 */
export function sideBySide(images: RasterImage[], gap: number, background = 1): RasterImage {
  if (images.length === 0) throw new RangeError('sideBySide: no images');
  if (!(Number.isInteger(gap) && gap >= 0)) throw new RangeError(`sideBySide: gap must be an integer ≥ 0, got ${gap}`);
  const C: Channels = images.every((im) => im.channels === images[0].channels) ? images[0].channels : 3;
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = images.reduce((m, im) => Math.max(m, im.height), 0);
  const out = new Float32Array(width * height * C).fill(background);
  let x0 = 0;
  for (const im of images) {
    const src = toChannels(im, C).data;
    const rowLen = im.width * C;
    for (let y = 0; y < im.height; y++) out.set(src.subarray(y * rowLen, (y + 1) * rowLen), (y * width + x0) * C);
    x0 += im.width + gap;
  }
  return { width, height, channels: C, data: out };
}

/** 8-bit PNG bytes of an image (values clamped to 0..1). */
export function renderPng(img: RasterImage): Uint8Array {
  return encodePng(img);
}
