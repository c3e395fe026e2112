/**
 * Colormap lookup tables, shared by the engine (PNG rendering, `src/engine/image/render.ts`) and the explain webview
 * (canvas overlays), so both colour a heatmap identically. Imports nothing: it must load in Node and in the browser.
 * Each table is one flat Float32Array (r, g, b in 0..1 per entry); `lutIndex` maps a value in 0..1 to its entry.
 */

export type Colormap = 'viridis' | 'jet' | 'inferno' | 'gray' | 'redblue';

export const COLORMAPS: readonly Colormap[] = ['viridis', 'jet', 'inferno', 'gray', 'redblue'];

/** Entries per lookup table: one per 8-bit output level, so a PNG cannot show the quantization. */
export const LUT_SIZE = 256;

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
      throw new RangeError(`unknown colormap "${String(map)}": expected one of ${COLORMAPS.join(', ')}`);
    }
    lut = new Float32Array(LUT_SIZE * 3);
    for (let i = 0; i < LUT_SIZE; i++) lut.set(mapAt(map, i / (LUT_SIZE - 1)), i * 3);
    lutCache.set(map, lut);
  }
  return lut;
}

/** Table index of a value in 0..1; out-of-range values clamp and NaN reads as 0. */
export function lutIndex(v: number): number {
  const i = Math.round(v * (LUT_SIZE - 1));
  return i > 0 ? (i < LUT_SIZE ? i : LUT_SIZE - 1) : 0;
}

