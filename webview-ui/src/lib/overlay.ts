/** A method's heatmap as shown in a tile: coloured and blended over the input (alone when its size differs). */
import type { ColormapName, HeatmapPayload } from '../../../src/shared/protocol';
import { heatmapRgba } from './heatmap';
import { blendRgba, type Rgba } from './image';
import type { HeatRange } from '../../../src/shared/pixels';

/** `range`: draw on this scale instead of the map's own (compare puts both sides of a method on one scale). */
export function overlayRgba(heatmap: HeatmapPayload, input: Rgba, colormap: ColormapName, opacity: number, range?: HeatRange): Rgba {
  const heat = heatmapRgba(heatmap.data, heatmap.width, heatmap.height, colormap, heatmap.signed, range);
  // A map at another resolution than the input cannot be blended pixel by pixel: show it alone.
  return heat.width === input.width && heat.height === input.height ? blendRgba(input, heat, opacity) : heat;
}
