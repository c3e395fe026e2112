/**
 * Batch augmentation for training: random rotation, translation and elastic distortion (Simard et al. 2003), fused
 * into one inverse map and one bilinear sampling pass per image, zero outside the source. Pure JS over typed arrays
 * rather than tf ops: per-image random warps in tf would need a kernel launch chain per image, while this loop warps
 * a 128-image 28×28 batch in about a millisecond on the CPU, off the training backend.
 */
import { SeededRandom } from './random';

export interface ElasticOptions {
  /** Displacement scale in pixels (Simard: 34 for 28×28 with σ = 4). */
  alpha: number;
  /** Gaussian smoothing of the random field, in pixels. */
  sigma: number;
  /** Chance that an image gets a field (default 1). */
  probability?: number;
}

export interface AugmentOptions {
  /** Uniform rotation in ±degrees about the image centre. */
  rotationDeg?: number;
  /** Uniform shift in ±pixels along each axis (sub-pixel). */
  translatePx?: number;
  elastic?: ElasticOptions;
  seed?: number;
}

/** One image's warp: content is rotated by `angleRad`, then moved by (dx, dy), then displaced by `field`. */
export interface WarpParams {
  angleRad: number;
  dx: number;
  dy: number;
  /** Per output pixel (dx, dy) pairs added to the source position, h × w × 2; undefined for none. */
  field?: Float32Array;
  /** Sign applied to the field's x and y components (lets one stored field serve four ways). */
  fieldSignX?: number;
  fieldSignY?: number;
}

const kernelCache = new Map<number, Float32Array>();

/** Normalised 1-D Gaussian of radius ceil(3σ), cached per σ. */
export function gaussianKernel(sigma: number): Float32Array {
  let k = kernelCache.get(sigma);
  if (k) return k;
  const r = Math.max(1, Math.ceil(3 * sigma));
  k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  kernelCache.set(sigma, k);
  return k;
}

/** Separable Gaussian blur of one h×w plane, edges clamped so the field doesn't fade at the border. */
function blurPlane(src: Float32Array, h: number, w: number, kernel: Float32Array): Float32Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float32Array(h * w);
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += kernel[k + r] * src[y * w + Math.min(Math.max(x + k, 0), w - 1)];
      tmp[y * w + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += kernel[k + r] * tmp[Math.min(Math.max(y + k, 0), h - 1) * w + x];
      out[y * w + x] = acc;
    }
  }
  return out;
}

/** Simard's field: uniform(-1, 1) displacements per pixel, Gaussian-smoothed by σ, scaled by α; h × w × 2. */
export function elasticField(h: number, w: number, alpha: number, sigma: number, rng: SeededRandom): Float32Array {
  const kernel = gaussianKernel(sigma);
  const fx = new Float32Array(h * w);
  const fy = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    fx[i] = rng.uniform(-1, 1);
    fy[i] = rng.uniform(-1, 1);
  }
  const bx = blurPlane(fx, h, w, kernel);
  const by = blurPlane(fy, h, w, kernel);
  const field = new Float32Array(h * w * 2);
  for (let i = 0; i < h * w; i++) {
    field[2 * i] = bx[i] * alpha;
    field[2 * i + 1] = by[i] * alpha;
  }
  return field;
}

/**
 * Warps one h×w×c image from `src` (at srcOff) into `dst` (at dstOff). Each output pixel p samples the source at
 * R(-θ)(p - centre - t) + centre + field(p) bilinearly; neighbours outside the image count as 0.
 */
export function warpImage(
  src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number,
  h: number, w: number, c: number, p: WarpParams,
): void {
  const cos = Math.cos(p.angleRad);
  const sin = Math.sin(p.angleRad);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const field = p.field;
  const sgx = p.fieldSignX ?? 1;
  const sgy = p.fieldSignY ?? 1;
  const rowStride = w * c;
  for (let y = 0; y < h; y++) {
    const Y = y - cy - p.dy;
    for (let x = 0; x < w; x++) {
      const X = x - cx - p.dx;
      let sx = cos * X + sin * Y + cx;
      let sy = -sin * X + cos * Y + cy;
      if (field) {
        const f = 2 * (y * w + x);
        sx += sgx * field[f];
        sy += sgy * field[f + 1];
      }
      const d = dstOff + (y * w + x) * c;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) {
        for (let k = 0; k < c; k++) dst[d + k] = 0;
        continue;
      }
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const base = srcOff + y0 * rowStride + x0 * c;
      if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) {
        for (let k = 0; k < c; k++) {
          const i = base + k;
          const v = w00 * src[i] + w01 * src[i + c] + w10 * src[i + rowStride] + w11 * src[i + rowStride + c];
          dst[d + k] = v > 1 ? 1 : v;
        }
      } else {
        // Border: only the in-image neighbours contribute.
        const inX0 = x0 >= 0;
        const inX1 = x0 + 1 < w;
        const inY0 = y0 >= 0;
        const inY1 = y0 + 1 < h;
        for (let k = 0; k < c; k++) {
          const i = base + k;
          let v = 0;
          if (inY0 && inX0) v += w00 * src[i];
          if (inY0 && inX1) v += w01 * src[i + c];
          if (inY1 && inX0) v += w10 * src[i + rowStride];
          if (inY1 && inX1) v += w11 * src[i + rowStride + c];
          dst[d + k] = v > 1 ? 1 : v;
        }
      }
    }
  }
}

/** Fields are drawn from a pool, since smoothing a fresh field per image would cost more than the warp itself. */
const FIELD_POOL_SIZE = 32;

export class Augmenter {
  private readonly rng: SeededRandom;
  private readonly rotationRad: number;
  private readonly translatePx: number;
  private readonly elastic: ElasticOptions | undefined;
  private pool: Float32Array[] = [];
  private poolSize: [number, number] = [0, 0];
  private refreshAt = 0;

  constructor(opts: AugmentOptions = {}) {
    this.rng = new SeededRandom(opts.seed ?? 0);
    this.rotationRad = ((opts.rotationDeg ?? 0) * Math.PI) / 180;
    this.translatePx = opts.translatePx ?? 0;
    const e = opts.elastic;
    this.elastic = e && e.alpha > 0 && e.sigma > 0 && (e.probability ?? 1) > 0 ? e : undefined;
  }

  /** True when apply would return an unchanged copy. */
  get isIdentity(): boolean {
    return this.rotationRad === 0 && this.translatePx === 0 && !this.elastic;
  }

  /** Draws one image's warp (advances the seeded sequence). */
  sample(h: number, w: number): WarpParams {
    const p: WarpParams = {
      angleRad: this.rotationRad ? this.rng.uniform(-this.rotationRad, this.rotationRad) : 0,
      dx: this.translatePx ? this.rng.uniform(-this.translatePx, this.translatePx) : 0,
      dy: this.translatePx ? this.rng.uniform(-this.translatePx, this.translatePx) : 0,
    };
    const e = this.elastic;
    if (e && this.rng.next() < (e.probability ?? 1)) {
      const pool = this.fieldPool(h, w, e);
      p.field = pool[this.rng.int(pool.length)];
      p.fieldSignX = this.rng.next() < 0.5 ? -1 : 1;
      p.fieldSignY = this.rng.next() < 0.5 ? -1 : 1;
    }
    return p;
  }

  private fieldPool(h: number, w: number, e: ElasticOptions): Float32Array[] {
    if (this.poolSize[0] !== h || this.poolSize[1] !== w) {
      this.pool = [];
      this.poolSize = [h, w];
      for (let i = 0; i < FIELD_POOL_SIZE; i++) this.pool.push(elasticField(h, w, e.alpha, e.sigma, this.rng));
    }
    return this.pool;
  }

  /** Replaces one pooled field per batch so the pool keeps changing over a long training run. */
  private refreshPool(h: number, w: number): void {
    const e = this.elastic;
    if (!e || this.pool.length === 0 || this.poolSize[0] !== h || this.poolSize[1] !== w) return;
    this.pool[this.refreshAt] = elasticField(h, w, e.alpha, e.sigma, this.rng);
    this.refreshAt = (this.refreshAt + 1) % this.pool.length;
  }

  /** Returns a new n×h×w×c array of augmented images; `batch` is not modified. */
  apply(batch: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
    const per = h * w * c;
    if (batch.length < n * per) throw new RangeError(`Augmenter.apply: batch has ${batch.length} values, need ${n * per}`);
    if (this.isIdentity) return batch.slice(0, n * per);
    const out = new Float32Array(n * per);
    for (let i = 0; i < n; i++) warpImage(batch, i * per, out, i * per, h, w, c, this.sample(h, w));
    this.refreshPool(h, w);
    return out;
  }
}
