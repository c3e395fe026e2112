/**
 * Pixel math that the engine (PNG files) and the webviews (canvas tiles) both need, so that a panel shows exactly
 * what the engine writes: heatmap normalisation, the signed-difference colouring, the integer upscale rule, luma and
 * side-by-side placement. Pure functions over plain arrays; imports nothing.
 */

/** BT.601 luma weights (grayscale conversion everywhere in the project). */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** A fixed normalisation range: [lo, hi] for unsigned maps; for signed maps only `hi`, the largest |value|, counts. */
export interface HeatRange {
  lo: number;
  hi: number;
}

/** The range of a map's finite values ([min, max] unsigned; [0, max|v|] signed). */
export function heatRange(data: ArrayLike<number>, signed: boolean): HeatRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = signed ? Math.abs(data[i]) : data[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return signed ? { lo: 0, hi: hi > 0 ? hi : 0 } : { lo, hi };
}

/** One range covering several maps of the same method, so they are drawn on one scale (compare). */
export function sharedHeatRange(maps: ArrayLike<number>[], signed: boolean): HeatRange {
  const ranges = maps.map((m) => heatRange(m, signed));
  return { lo: Math.min(...ranges.map((r) => r.lo)), hi: Math.max(...ranges.map((r) => r.hi)) };
}

/**
 * Maps a heatmap to 0..1 for a colormap, in a new array, over its own range or a given one (values outside it clamp).
 * - unsigned: (v − min) / (max − min); a constant map gives all zeros.
 * - signed: (v / max|v| + 1) / 2, so zero sits at 0.5 (the white centre of 'redblue'); an all-zero map gives 0.5.
 * Non-finite values (NaN, ±Infinity) are ignored for the range and come out as the "nothing" value (0 unsigned, 0.5
 * signed), so one bad pixel cannot blank the whole map.
 */
export function normalizeHeatmap(data: ArrayLike<number>, signed: boolean, range: HeatRange = heatRange(data, signed)): Float32Array {
  const n = data.length;
  const out = new Float32Array(n);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  if (signed) {
    const inv = range.hi > 0 ? 1 / range.hi : 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      out[i] = Number.isFinite(v) ? clamp((v * inv + 1) / 2) : 0.5;
    }
    return out;
  }
  const { lo, hi } = range;
  if (!(hi > lo)) return out; // constant (or empty / all non-finite)
  const inv = 1 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    out[i] = Number.isFinite(v) ? clamp((v - lo) * inv) : 0;
  }
  return out;
}

/**
 * The signed-difference colouring of per-pixel intensity changes: RGB in 0..1, red where the change added intensity,
 * blue where it removed it, white where nothing changed; the strength is |delta| / max|delta|. Changes within 1e-6
 * (float noise) and non-finite ones count as unchanged, so two equal images give all white.
 */
export function signedDiffRgb(delta: ArrayLike<number>): Float32Array {
  const n = delta.length;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(delta[i]);
    if (d > m && Number.isFinite(d)) m = d;
  }
  const inv = m > 1e-6 ? 1 / m : 0;
  const out = new Float32Array(n * 3).fill(1);
  for (let i = 0; i < n; i++) {
    const s = Number.isFinite(delta[i]) ? delta[i] * inv : 0;
    if (s > 0) {
      out[i * 3 + 1] = 1 - s;
      out[i * 3 + 2] = 1 - s;
    } else if (s < 0) {
      out[i * 3] = 1 + s;
      out[i * 3 + 1] = 1 + s;
    }
  }
  return out;
}

/** The smallest integer factor f ≥ 1 with min(width, height)·f ≥ minSide (28 px → 224 px: f = 8). */
export function upscaleFactor(width: number, height: number, minSide: number): number {
  const side = Math.min(width, height);
  if (!(side > 0)) throw new RangeError(`upscaleFactor: image is ${width}×${height}`);
  return Math.max(1, Math.ceil(minSide / side));
}

interface Pixels<T> {
  width: number;
  height: number;
  data: T;
}

/**
 * Images of `channels` values per pixel placed left to right, top-aligned, `gap` pixels apart, over `background`
 * (one value per channel).
 */
export function sideBySidePixels<T extends Float32Array | Uint8ClampedArray>(
  images: Pixels<T>[],
  channels: number,
  gap: number,
  background: ArrayLike<number>,
  allocate: (length: number) => T,
): Pixels<T> {
  if (images.length === 0) throw new RangeError('sideBySide: no images');
  if (!(Number.isInteger(gap) && gap >= 0)) throw new RangeError(`sideBySide: gap must be an integer ≥ 0, got ${gap}`);
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = images.reduce((m, im) => Math.max(m, im.height), 0);
  const out = allocate(width * height * channels);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = background[c];
  let x0 = 0;
  for (const im of images) {
    const rowLen = im.width * channels;
    for (let y = 0; y < im.height; y++) out.set(im.data.subarray(y * rowLen, (y + 1) * rowLen), (y * width + x0) * channels);
    x0 += im.width + gap;
  }
  return { width, height, data: out };
}

/**
 * A map of values resampled to another size by bilinear interpolation between pixel centres (edges clamped): a
 * heatmap at the model's input size drawn over the image at its own resolution.
 */
export function resampleMap(data: ArrayLike<number>, width: number, height: number, toWidth: number, toHeight: number): Float32Array {
  const out = new Float32Array(toWidth * toHeight);
  const sx = width / toWidth;
  const sy = height / toHeight;
  for (let y = 0; y < toHeight; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < toWidth; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      const top = data[y0 * width + x0] * (1 - wx) + data[y0 * width + x1] * wx;
      const bottom = data[y1 * width + x0] * (1 - wx) + data[y1 * width + x1] * wx;
      out[y * toWidth + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}
