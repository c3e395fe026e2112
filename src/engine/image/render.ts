/**
 * Rendering of explanations as pure functions over `RasterImage`: colormaps, heatmap normalization, overlays,
 * pixel-exact upscaling, CAM resizing and montage. Used to write explanation PNGs in the engine and to produce the
 * arrays sent to the webview, so nothing here touches TensorFlow.js or a canvas. No function mutates its input.
 */
import { XaiLensError } from '../errors';
import { encodePng } from './decode';
import { type Channels, type RasterImage, resizeBilinear, toChannels } from './imageMath';
import { type Colormap, COLORMAPS, colormapTable as sharedColormapTable, lutIndex } from '../../shared/colormaps';

export { type Colormap, COLORMAPS };

/**
 * The 256-entry RGB table of a colormap (flat, r g b per entry, 0..1); built once per map. Do not mutate.
 * The tables live in `src/shared/colormaps.ts` (the webview uses the same ones); this wrapper reports an unknown map
 * as a user error.
 */
export function colormapTable(map: Colormap): Float32Array {
  if (!COLORMAPS.includes(map)) {
    throw new XaiLensError(`unknown colormap "${String(map)}": expected one of ${COLORMAPS.join(', ')}`);
  }
  return sharedColormapTable(map);
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
