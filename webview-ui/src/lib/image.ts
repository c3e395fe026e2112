/**
 * Pixel work for the explain panel as pure functions over 8-bit RGBA buffers (the layout of canvas ImageData), so
 * it runs (and is tested) in Node. Nothing here touches the DOM. Inputs are never mutated.
 *
 * Model-input images arrive as `ImagePayload` (values in 0..1, row-major, channels last, 1/3/4 channels); they are
 * converted the way the engine's `toChannels` does (alpha composited on black), so the panel shows the same pixels
 * as the engine's PNGs.
 */
import type { DisplayImagePayload, ImagePayload } from '../../../src/shared/protocol';
import { LUMA, sideBySidePixels, signedDiffRgb, upscaleFactor } from '../../../src/shared/pixels';

export { upscaleFactor };

/** An opaque-or-not 8-bit RGBA image, row-major: exactly what `new ImageData(data, width, height)` takes. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

const [LUMA_R, LUMA_G, LUMA_B] = LUMA;

/** Value in 0..1 → byte, rounded like the engine's PNG writer (the Uint8ClampedArray clamps); NaN reads as 0. */
export function byte(v: number): number {
  return Number.isNaN(v) ? 0 : Math.round(v * 255);
}

function checkImage(img: ImagePayload, what: string): void {
  const { width, height, channels, data } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`${what}: size must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`${what}: expected 1, 3 or 4 channels, got ${channels}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${what}: expected ${width}×${height}×${channels} = ${width * height * channels} values, got ${data.length}`);
  }
}

/** [r, g, b] of pixel p in 0..1, alpha composited on black. */
function rgbAt(img: ImagePayload, p: number): [number, number, number] {
  const c = img.channels;
  const s = p * c;
  const d = img.data;
  if (c === 1) return [d[s], d[s], d[s]];
  const a = c === 4 ? d[s + 3] : 1;
  return [d[s] * a, d[s + 1] * a, d[s + 2] * a];
}

/** A model-input image as opaque RGBA (grayscale is replicated to r = g = b). */
export function imageToRgba(img: ImagePayload): Rgba {
  checkImage(img, 'imageToRgba');
  const n = img.width * img.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    const [r, g, b] = rgbAt(img, p);
    out[p * 4] = byte(r);
    out[p * 4 + 1] = byte(g);
    out[p * 4 + 2] = byte(b);
    out[p * 4 + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}

/** The image at its own resolution (8-bit gray or RGB, base64) as opaque RGBA. */
export function displayToRgba(img: DisplayImagePayload): Rgba {
  const bin = atob(img.base64);
  const n = img.width * img.height;
  if (bin.length !== n * img.channels) throw new Error(`displayToRgba: ${bin.length} bytes for ${img.width}×${img.height}×${img.channels}`);
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    const s = p * img.channels;
    const r = bin.charCodeAt(s);
    out[p * 4] = r;
    out[p * 4 + 1] = img.channels === 1 ? r : bin.charCodeAt(s + 1);
    out[p * 4 + 2] = img.channels === 1 ? r : bin.charCodeAt(s + 2);
    out[p * 4 + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}

/** Per-pixel intensity in 0..1 (BT.601 luma, alpha composited on black): the engine's toChannels(img, 1). */
export function intensity(img: ImagePayload): Float32Array {
  checkImage(img, 'intensity');
  const n = img.width * img.height;
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    if (img.channels === 1) {
      out[p] = img.data[p];
    } else {
      const [r, g, b] = rgbAt(img, p);
      out[p] = LUMA_R * r + LUMA_G * g + LUMA_B * b;
    }
  }
  return out;
}

/**
 * Alpha blend (1 − opacity)·base + opacity·heat of two same-size images; the result is opaque. Opacity is clamped
 * to 0..1 (0 shows the base, 1 the heatmap).
 */
export function blendRgba(base: Rgba, heat: Rgba, opacity: number): Rgba {
  if (base.width !== heat.width || base.height !== heat.height) {
    throw new RangeError(`blendRgba: heatmap is ${heat.width}×${heat.height} but the image is ${base.width}×${base.height}`);
  }
  const o = Number.isFinite(opacity) ? Math.min(Math.max(opacity, 0), 1) : 1;
  const keep = 1 - o;
  const b = base.data;
  const h = heat.data;
  const out = new Uint8ClampedArray(b.length);
  for (let i = 0; i < out.length; i += 4) {
    out[i] = keep * b[i] + o * h[i];
    out[i + 1] = keep * b[i + 1] + o * h[i + 1];
    out[i + 2] = keep * b[i + 2] + o * h[i + 2];
    out[i + 3] = 255;
  }
  return { width: base.width, height: base.height, data: out };
}

/** Each pixel becomes a factor × factor block: pixel-exact, no interpolation blur. */
export function upscaleRgba(img: Rgba, factor: number): Rgba {
  if (!(Number.isInteger(factor) && factor >= 1)) {
    throw new RangeError(`upscaleRgba: factor must be a positive integer, got ${factor}`);
  }
  if (factor === 1) return { width: img.width, height: img.height, data: img.data.slice() };
  const W = img.width;
  const outW = W * factor;
  // Whole pixels are copied as 32-bit words; a view needs a 4-byte-aligned offset, so copy a misaligned input.
  const bytes = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice();
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, W * img.height);
  const outBytes = new Uint8ClampedArray(outW * img.height * factor * 4);
  const out = new Uint32Array(outBytes.buffer);
  for (let y = 0; y < img.height; y++) {
    const first = y * factor * outW;
    for (let x = 0; x < W; x++) out.fill(src[y * W + x], first + x * factor, first + (x + 1) * factor);
    for (let r = 1; r < factor; r++) out.copyWithin(first + r * outW, first, first + outW);
  }
  return { width: outW, height: img.height * factor, data: outBytes };
}

/**
 * The integer on-screen scale for an image: the largest f ≥ 1 with max(width, height)·f ≤ target (28 px, 224 → 8),
 * capped at `maxScale`. Images already larger than the target show at 1×.
 */
export function displayScale(width: number, height: number, target = 224, maxScale = 16): number {
  const side = Math.max(width, height);
  if (!(side > 0)) throw new RangeError(`displayScale: image is ${width}×${height}`);
  return Math.max(1, Math.min(maxScale, Math.floor(target / side)));
}

/**
 * Images placed left to right, top-aligned, `gap` pixels apart, on an opaque background (default white, as the
 * engine's montage): used to save the counterfactual strip as one PNG.
 */
export function sideBySideRgba(images: Rgba[], gap: number, background: readonly [number, number, number] = [255, 255, 255]): Rgba {
  return sideBySidePixels(images, 4, gap, [...background, 255], (n) => new Uint8ClampedArray(n));
}

/**
 * Where `changed` differs from `original`, by intensity: red where the change added intensity, blue where it
 * removed it, white where nothing changed; the strength is |diff| / max|diff|. Differences within 1e-6 count as
 * unchanged, so equal images give all white. Same rule and colours as the engine's `signedDiffImage`.
 */
export function signedDiffRgba(original: ImagePayload, changed: ImagePayload): Rgba {
  if (original.width !== changed.width || original.height !== changed.height) {
    throw new RangeError(
      `signedDiffRgba: sizes differ (${original.width}×${original.height} vs ${changed.width}×${changed.height})`,
    );
  }
  const a = intensity(original);
  const b = intensity(changed);
  const delta = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) delta[i] = b[i] - a[i];
  return signedDiffFromDelta(delta, original.width, original.height);
}

/** The signed-difference colouring of per-pixel intensity changes `delta` (width × height values). */
export function signedDiffFromDelta(delta: ArrayLike<number>, width: number, height: number): Rgba {
  const n = width * height;
  if (delta.length !== n) throw new RangeError(`signedDiffFromDelta: expected ${n} values, got ${delta.length}`);
  const rgb = signedDiffRgb(delta);
  const out = new Uint8ClampedArray(n * 4).fill(255);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 4 + c] = byte(rgb[i * 3 + c]);
  return { width, height, data: out };
}
