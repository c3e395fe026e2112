/**
 * Rendering of explanations as pure functions over `RasterImage`: colormaps, overlays, pixel-exact upscaling, CAM
 * resizing and montage (heatmap normalization and the signed-difference colours come from src/shared/pixels.ts, which
 * the webview uses too). Used to write explanation PNGs in the engine and to produce the
 * arrays sent to the webview, so nothing here touches TensorFlow.js or a canvas. No function mutates its input.
 */
import { XaiLensError } from '../errors';
import { encodePng } from './decode';
import { type Channels, type RasterImage, toChannels } from './imageMath';
import { type Colormap, COLORMAPS, colormapTable as sharedColormapTable, lutIndex } from '../../shared/colormaps';
import { normalizeHeatmap, resampleMap, sideBySidePixels, signedDiffRgb, upscaleFactor } from '../../shared/pixels';

export { type Colormap, COLORMAPS, normalizeHeatmap, upscaleFactor };

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
  // The panel resamples maps with the same shared function, so the CLI's overlays and the panel's agree.
  return resampleMap(data, w, h, outW, outH);
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
  return { width: original.width, height: original.height, channels: 3, data: signedDiffRgb(b.map((v, i) => v - a[i])) };
}

/**
 * Images placed left to right, top-aligned, `gap` pixels apart, on a `background` fill (default white). The output
 * keeps the common channel count when all images share one, else it is RGB.
 */
export function sideBySide(images: RasterImage[], gap: number, background = 1): RasterImage {
  if (images.length === 0) throw new RangeError('sideBySide: no images');
  const C: Channels = images.every((im) => im.channels === images[0].channels) ? images[0].channels : 3;
  const placed = sideBySidePixels(images.map((im) => toChannels(im, C)), C, gap, new Array<number>(C).fill(background), (n) => new Float32Array(n));
  return { ...placed, channels: C };
}

/** 8-bit PNG bytes of an image (values clamped to 0..1). */
export function renderPng(img: RasterImage): Uint8Array {
  return encodePng(img);
}
