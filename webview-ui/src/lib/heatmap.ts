/**
 * Heatmap colouring for the explain panel, pure and DOM-free. Normalization (src/shared/pixels.ts) and the tables
 * (src/shared/colormaps.ts) are the engine's own, so a tile shows the same colours as the PNG the engine writes.
 */
import { type Colormap, COLORMAPS, colormapTable, lutIndex } from '../../../src/shared/colormaps';
import { type HeatRange, normalizeHeatmap } from '../../../src/shared/pixels';
import { byte, type Rgba } from './image';

export type { Colormap };
export { COLORMAPS, normalizeHeatmap };

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
  range?: HeatRange,
): Rgba {
  if (data.length !== width * height) {
    throw new RangeError(`heatmapRgba: expected ${width}×${height} = ${width * height} values, got ${data.length}`);
  }
  const lut = colormapTable(effectiveColormap(chosen, signed));
  const norm = normalizeHeatmap(data, signed, range);
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
