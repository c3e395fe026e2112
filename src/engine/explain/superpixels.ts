/**
 * SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art Superpixel Methods", TPAMI 2012)
 * for LIME: k-means in (colour, position) space restricted to a 2S × 2S window per centre, then a connectivity pass.
 * Works on intensity for gray images (28×28 digits) and on CIELAB for colour images (photos).
 *
 * Written here because no maintained pure-JS npm package does SLIC over typed arrays with contiguous Int32 labels.
 * Deterministic: no randomness anywhere; the same image and options always give the same labels.
 */
import { XaiLensError } from '../errors';
import { type RasterImage, toChannels } from '../image/imageMath';

export interface SlicOptions {
  /** Target number of superpixels (the result may differ a little). Default 50, right for a 28×28 digit. */
  segments: number;
  /**
   * Weight of spatial proximity against colour similarity (m in the paper). Colour is on the CIELAB L scale (0..100;
   * gray images use 100·intensity), so 10 is the paper's usual value: larger gives squarer segments.
   */
  compactness: number;
  /** k-means iterations (stops early once no label changes). Default 10, as in the paper. */
  iterations: number;
}

export const DEFAULT_SLIC_OPTIONS: Readonly<SlicOptions> = { segments: 50, compactness: 10, iterations: 10 };

export interface Segmentation {
  /** One label per pixel, row-major h × w, in 0..count-1; every label is one 4-connected region. */
  labels: Int32Array;
  count: number;
}

/** Fragments smaller than this fraction of the mean superpixel area are merged into a neighbour (paper: ¼). */
const MIN_SIZE_FRACTION = 0.25;

function checkOptions(o: SlicOptions): void {
  if (!(Number.isInteger(o.segments) && o.segments >= 1)) {
    throw new XaiLensError(`superpixel segments must be a positive integer, got ${o.segments}`);
  }
  if (!(Number.isFinite(o.compactness) && o.compactness >= 0)) {
    throw new XaiLensError(`superpixel compactness must be a number ≥ 0, got ${o.compactness}`);
  }
  if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) {
    throw new XaiLensError(`superpixel iterations must be a positive integer, got ${o.iterations}`);
  }
}

/** sRGB (0..1) → linear light, the IEC 61966-2-1 curve. */
function srgbToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

/** srgbToLinear sampled at 4096 + 1 points: linear interpolation in it is within 1e-6 of the curve, and ~5× faster. */
const SRGB_TABLE_SIZE = 4096;
let srgbTable: Float64Array | undefined;

function linearFromTable(v: number): number {
  const t = (srgbTable ??= Float64Array.from({ length: SRGB_TABLE_SIZE + 1 }, (_, i) =>
    srgbToLinear(i / SRGB_TABLE_SIZE),
  ));
  const x = (v < 0 ? 0 : v > 1 ? 1 : v) * SRGB_TABLE_SIZE;
  const i = Math.min(Math.floor(x), SRGB_TABLE_SIZE - 1);
  return t[i] + (x - i) * (t[i + 1] - t[i]);
}

function labF(t: number): number {
  return t > 0.008856451679035631 ? Math.cbrt(t) : t * 7.787037037037037 + 16 / 116;
}

/**
 * Per-pixel colour features as three planes: CIELAB (D65) for colour images; for gray images L = 100·intensity and
 * a = b = 0 (one shared zero plane), which puts both on the same 0..100 scale so `compactness` means the same.
 */
function features(img: RasterImage): [Float32Array, Float32Array, Float32Array] {
  const n = img.width * img.height;
  const L = new Float32Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) L[i] = 100 * img.data[i];
    const zero = new Float32Array(n);
    return [L, zero, zero];
  }
  const rgb = toChannels(img, 3).data; // alpha composited on black, like the model input
  const A = new Float32Array(n);
  const B = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = linearFromTable(rgb[i * 3]);
    const g = linearFromTable(rgb[i * 3 + 1]);
    const b = linearFromTable(rgb[i * 3 + 2]);
    // XYZ relative to the D65 white point (Xn = 0.95047, Zn = 1.08883).
    const fx = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047);
    const fy = labF(0.2126729 * r + 0.7151522 * g + 0.072175 * b);
    const fz = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883);
    L[i] = 116 * fy - 16;
    A[i] = 500 * (fx - fy);
    B[i] = 200 * (fy - fz);
  }
  return [L, A, B];
}

/** Squared colour gradient at (x, y) from central differences, clamped at the borders. */
function gradient(planes: Float32Array[], w: number, h: number, x: number, y: number): number {
  const xl = x > 0 ? x - 1 : x;
  const xr = x < w - 1 ? x + 1 : x;
  const yu = y > 0 ? y - 1 : y;
  const yd = y < h - 1 ? y + 1 : y;
  let g = 0;
  for (const p of planes) {
    const dx = p[y * w + xr] - p[y * w + xl];
    const dy = p[yd * w + x] - p[yu * w + x];
    g += dx * dx + dy * dy;
  }
  return g;
}

/** Centres (k-means means) as parallel arrays: colour l, a, b and position x, y. */
interface Centres {
  l: Float64Array;
  a: Float64Array;
  b: Float64Array;
  x: Float64Array;
  y: Float64Array;
}

/**
 * Seeds on a regular grid with spacing ≈ S shaped to the image's aspect ratio, each moved to the lowest gradient in
 * its 3×3 neighbourhood so it does not start on an edge or a noisy pixel (paper §3.2). Also labels every pixel with
 * its grid cell, the fallback for pixels no centre's window reaches.
 */
function seedCentres(
  planes: Float32Array[],
  w: number,
  h: number,
  nx: number,
  ny: number,
  labels: Int32Array,
): Centres {
  const K = nx * ny;
  const c: Centres = {
    l: new Float64Array(K),
    a: new Float64Array(K),
    b: new Float64Array(K),
    x: new Float64Array(K),
    y: new Float64Array(K),
  };
  for (let y = 0; y < h; y++) {
    const gy = Math.min(ny - 1, Math.floor((y * ny) / h));
    for (let x = 0; x < w; x++) labels[y * w + x] = gy * nx + Math.min(nx - 1, Math.floor((x * nx) / w));
  }
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const x0 = Math.floor(((i + 0.5) * w) / nx);
      const y0 = Math.floor(((j + 0.5) * h) / ny);
      let px = x0;
      let py = y0;
      let best = gradient(planes, w, h, px, py);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x0 + dx;
          const yy = y0 + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const g = gradient(planes, w, h, xx, yy);
          if (g < best) {
            best = g;
            px = xx;
            py = yy;
          }
        }
      }
      const k = j * nx + i;
      const p = py * w + px;
      c.x[k] = px;
      c.y[k] = py;
      c.l[k] = planes[0][p];
      c.a[k] = planes[1][p];
      c.b[k] = planes[2][p];
    }
  }
  return c;
}

/**
 * Segments an image into about `segments` compact superpixels. Gray images cluster on intensity, colour images on
 * CIELAB; alpha is composited on black first.
 */
export function slic(img: RasterImage, options: Partial<SlicOptions> = {}): Segmentation {
  const opts: SlicOptions = { ...DEFAULT_SLIC_OPTIONS, ...options };
  checkOptions(opts);
  const { width: w, height: h } = img;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) {
    throw new RangeError(`slic: image size must be positive integers, got ${w}×${h}`);
  }
  if (img.data.length !== w * h * img.channels) {
    throw new RangeError(
      `slic: expected ${w * h * img.channels} samples for ${w}×${h}×${img.channels}, got ${img.data.length}`,
    );
  }
  const n = w * h;
  const planes = features(img);
  const [PL, PA, PB] = planes;

  const S = Math.sqrt(n / Math.min(opts.segments, n));
  const nx = Math.min(w, Math.max(1, Math.round(w / S)));
  const ny = Math.min(h, Math.max(1, Math.round(h / S)));
  const K = nx * ny;
  const labels = new Int32Array(n);
  const c = seedCentres(planes, w, h, nx, ny, labels);

  // k-means restricted to a (2S+1)² window per centre, distance D² = dc² + (ds / S)²·m² (paper eq. 3, squared).
  const spatial = (opts.compactness / S) ** 2;
  const dist = new Float64Array(n);
  const previous = new Int32Array(n);
  const sums = new Float64Array(K * 6); // per centre: l, a, b, x, y, count
  const win = Math.ceil(S);
  for (let it = 0; it < opts.iterations; it++) {
    previous.set(labels);
    dist.fill(Infinity);
    for (let k = 0; k < K; k++) {
      const kl = c.l[k];
      const ka = c.a[k];
      const kb = c.b[k];
      const kx = c.x[k];
      const ky = c.y[k];
      const xa = Math.max(0, Math.floor(kx - win));
      const xb = Math.min(w - 1, Math.ceil(kx + win));
      const ya = Math.max(0, Math.floor(ky - win));
      const yb = Math.min(h - 1, Math.ceil(ky + win));
      for (let y = ya; y <= yb; y++) {
        const dy2 = (y - ky) * (y - ky);
        const row = y * w;
        for (let x = xa; x <= xb; x++) {
          const p = row + x;
          const dl = PL[p] - kl;
          const da = PA[p] - ka;
          const db = PB[p] - kb;
          const D = dl * dl + da * da + db * db + ((x - kx) * (x - kx) + dy2) * spatial;
          if (D < dist[p]) {
            dist[p] = D;
            labels[p] = k;
          }
        }
      }
    }
    let changed = false;
    for (let p = 0; p < n && !changed; p++) changed = labels[p] !== previous[p];
    if (it > 0 && !changed) break; // converged: the means below would not move

    // Move each centre to the mean of its pixels; a centre that lost all its pixels stays where it was.
    sums.fill(0);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const o = labels[p] * 6;
        sums[o] += PL[p];
        sums[o + 1] += PA[p];
        sums[o + 2] += PB[p];
        sums[o + 3] += x;
        sums[o + 4] += y;
        sums[o + 5]++;
      }
    }
    for (let k = 0; k < K; k++) {
      const o = k * 6;
      const cnt = sums[o + 5];
      if (cnt === 0) continue;
      c.l[k] = sums[o] / cnt;
      c.a[k] = sums[o + 1] / cnt;
      c.b[k] = sums[o + 2] / cnt;
      c.x[k] = sums[o + 3] / cnt;
      c.y[k] = sums[o + 4] / cnt;
    }
  }
  return enforceConnectivity(labels, w, h, Math.max(1, Math.floor((MIN_SIZE_FRACTION * n) / K)));
}

/**
 * Relabels 4-connected components in raster order, so labels come out contiguous and each is one region. A
 * component smaller than `minSize` joins the component of its first pixel's left (else upper) neighbour, which was
 * labelled earlier and touches it, so the merged region is still connected. As in the paper's reference code.
 */
export function enforceConnectivity(labels: Int32Array, w: number, h: number, minSize: number): Segmentation {
  const n = w * h;
  if (labels.length !== n) throw new RangeError(`enforceConnectivity: ${labels.length} labels for ${w}×${h} pixels`);
  const out = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (out[start] >= 0) continue;
    const original = labels[start];
    const sx = start % w;
    const adjacent = sx > 0 ? out[start - 1] : start >= w ? out[start - w] : -1;
    // Breadth-first flood fill of the pixels with the same original label.
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    out[start] = count;
    while (head < tail) {
      const p = queue[head++];
      const x = p % w;
      // Left, right, up, down.
      for (let d = 0; d < 4; d++) {
        let q: number;
        if (d === 0) q = x > 0 ? p - 1 : -1;
        else if (d === 1) q = x < w - 1 ? p + 1 : -1;
        else if (d === 2) q = p - w;
        else q = p + w < n ? p + w : -1;
        if (q >= 0 && out[q] < 0 && labels[q] === original) {
          out[q] = count;
          queue[tail++] = q;
        }
      }
    }
    if (tail < minSize && adjacent >= 0) {
      for (let i = 0; i < tail; i++) out[queue[i]] = adjacent;
    } else {
      count++;
    }
  }
  return { labels: out, count };
}
