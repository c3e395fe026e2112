/**
 * Heatmap colouring for the explain panel, pure and DOM-free. Normalization follows the engine's
 * `normalizeHeatmap` (src/engine/image/render.ts) exactly and the tables come from src/shared/colormaps.ts, so a
 * tile shows the same colours as the PNG the engine writes for the same map.
 */
import { type Colormap, COLORMAPS, colormapTable, lutIndex } from '../../../src/shared/colormaps';
import { byte, type Rgba } from './image';

export type { Colormap };
export { COLORMAPS };

/**
 * Maps a heatmap to 0..1 for a colormap, in a new array.
 * - unsigned: (v − min) / (max − min); a constant map gives all zeros.
 * - signed: (v / max|v| + 1) / 2, so zero sits at 0.5 (the white centre of 'redblue'); an all-zero map gives 0.5.
 * Non-finite values are ignored for the range and come out as the "nothing" value (0 unsigned, 0.5 signed).
 */
export function normalizeHeatmap(data: ArrayLike<number>, signed: boolean): Float32Array {
  const n = data.length;
  const out = new Float32Array(n);
  if (signed) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(data[i]);
      if (a > m && a !== Infinity) m = a;
    }
    const inv = m > 0 ? 1 / m : 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      out[i] = Number.isFinite(v) ? (v * inv + 1) / 2 : 0.5;
    }
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return out;
  const inv = 1 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    out[i] = Number.isFinite(v) ? (v - lo) * inv : 0;
  }
  return out;
}

/** The colormap a heatmap is drawn with: signed maps always use the diverging 'redblue' (zero = white). */
export function effectiveColormap(chosen: Colormap, signed: boolean): Colormap {
  if (signed) return 'redblue';
  return COLORMAPS.includes(chosen) ? chosen : 'viridis';
}

/** A width × height heatmap, normalized and coloured through the (effective) colormap: an opaque RGBA image. */
export function heatmapRgba(
  data: ArrayLike<number>,
  width: number,
  height: number,
  chosen: Colormap,
  signed: boolean,
): Rgba {
  if (data.length !== width * height) {
    throw new RangeError(`heatmapRgba: expected ${width}×${height} = ${width * height} values, got ${data.length}`);
  }
  const lut = colormapTable(effectiveColormap(chosen, signed));
  const norm = normalizeHeatmap(data, signed);
  const out = new Uint8ClampedArray(norm.length * 4);
  for (let p = 0; p < norm.length; p++) {
    const i = lutIndex(norm[p]) * 3;
    out[p * 4] = byte(lut[i]);
    out[p * 4 + 1] = byte(lut[i + 1]);
    out[p * 4 + 2] = byte(lut[i + 2]);
    out[p * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

/** A horizontal colour bar (`width` × 1) of a colormap from 0 to 1, for legends. */
export function colorbarRgba(map: Colormap, width = 256): Rgba {
  const lut = colormapTable(map);
  const out = new Uint8ClampedArray(width * 4);
  for (let x = 0; x < width; x++) {
    const i = lutIndex(width > 1 ? x / (width - 1) : 0) * 3;
    out[x * 4] = byte(lut[i]);
    out[x * 4 + 1] = byte(lut[i + 1]);
    out[x * 4 + 2] = byte(lut[i + 2]);
    out[x * 4 + 3] = 255;
  }
  return { width, height: 1, data: out };
}
