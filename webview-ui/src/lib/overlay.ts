/** A method's heatmap as shown in a tile: coloured and blended over the image, resampled to the image's size. */
import type { ColormapName, HeatmapPayload } from '../../../src/shared/protocol';
import { heatmapRgba } from './heatmap';
import { blendRgba, type Rgba } from './image';
import { resampleMap, type HeatRange } from '../../../src/shared/pixels';

/** `range`: draw on this scale instead of the map's own (compare puts both sides of a method on one scale). */
export function overlayRgba(heatmap: HeatmapPayload, base: Rgba, colormap: ColormapName, opacity: number, range?: HeatRange): Rgba {
  // The image at its own resolution (or a map at a layer's): the map is resampled to the image, never the reverse.
  const same = heatmap.width === base.width && heatmap.height === base.height;
  const data = same ? heatmap.data : resampleMap(heatmap.data, heatmap.width, heatmap.height, base.width, base.height);
  return blendRgba(base, heatmapRgba(data, base.width, base.height, colormap, heatmap.signed, range), opacity);
}
