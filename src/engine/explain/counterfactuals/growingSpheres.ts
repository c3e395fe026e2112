/**
 * Growing Spheres, black-box (probabilities only): Laugel, Lesot, Marsala, Renard & Detyniecki, "Inverse
 * Classification for Comparison-based Interpretability in Machine Learning" (IPMU 2018). Sample uniformly in L2
 * spherical layers of growing radius around x until one holds an "enemy", take the closest, then make the change
 * sparse by putting coordinates back. Between the two steps an optional decision-based boundary refinement in the
 * manner of HopSkipJump (Chen, Jordan & Wainwright, IEEE S&P 2020) moves the enemy to the nearest boundary point it
 * can find: in d dimensions uniform samples hit the cap of the ball beyond a flat boundary so rarely that the first
 * enemy lies well beyond the true distance (~1.5× on 16 pixels, more on 784), which the refinement removes.
 *
 * Photo-sized images are searched on a coarser grid (`searchSide`): each sampled change is constant over a square
 * block of pixels, as in low-frequency black-box attacks (Guo, Frank & Weinberger, "Low Frequency Adversarial
 * Perturbation", UAI 2019). At 224×224×3 that is 3,072 dimensions instead of 150,528, where a layer of 64 samples
 * finds a nearby enemy and a boundary normal can be estimated at all; drawing 150,528 Gaussians per sample would
 * also cost more than the model. The sparsification then works pixel by pixel. Images whose longer side is at most
 * `searchSide` are searched pixel by pixel, as in the paper.
 */
import type { OptionSchema } from '../../../shared/descriptors';
import { XaiLensError } from '../../errors';
import { SeededRandom } from '../../data/random';
import { argmax } from '../../inference';
import type { ImageShape } from '../types';
import type { ProbabilitySource } from '../flatProbabilities';
import { checkAbort, checkInput, checkTarget, counterfactualOf, isEnemy, l2dist, Oracle } from './oracle';
import type { Counterfactual, CounterfactualTarget } from './types';
import { pacer, type Pause } from '../pacing';

/** The options a user can set (settings, CLI); the registry declares the method with this schema. */
export const GROWING_SPHERES_OPTIONS = {
  samplesPerLayer: {
    type: 'integer', default: 64, min: 1, max: 4096,
    description: 'samples per spherical layer and per boundary-normal estimate (~1.3 s per 28×28 digit at 64, wasm)',
  },
  maxIterations: { type: 'integer', default: 64, min: 1, max: 1000, description: 'most layers searched, halvings included' },
  maxEvaluations: {
    type: 'integer', default: 0, min: 0, max: 10_000_000,
    description: 'most images the layer search evaluates; 0 = scaled to the model (what 1,000 LIME samples of a MobileNetV2 at 224×224×3 cost; no limit on small models)',
  },
  refineIterations: {
    type: 'integer', default: 2, min: 0, max: 50,
    description: 'boundary refinement steps (each roughly halves the distance on MNIST); 0 = plain Growing Spheres',
  },
  searchSide: {
    type: 'integer', default: 32, min: 1, max: 4096,
    description: 'most grid cells per side the search samples changes on (blocks of pixels); smaller images are searched pixel by pixel',
  },
  sparsifyRounds: {
    type: 'integer', default: 0, min: -1, max: 50,
    description: 'rounds of single-coordinate reverts after the paper\'s greedy pass (lower L0, ~0.5 s each on a digit); -1 = no sparsification',
  },
} as const satisfies OptionSchema;

export interface GrowingSpheresOptions {
  /** Class to reach, or 'any' (default): any class but the original prediction. */
  target?: CounterfactualTarget;
  /** First ball radius; default √d (the diagonal of [0,1]^d, so the ball covers the whole box), halved until no
   * enemy is sampled inside it, as in the paper. */
  eta?: number;
  /** Width of each spherical layer; default η/4 for the final η (the paper uses η; thinner layers find a closer
   * first enemy for a few more batches, as the authors' implementation does). */
  layerWidth?: number;
  samplesPerLayer?: number;
  maxIterations?: number;
  /** Most images the layer search evaluates before giving up; default (and 0) unlimited. */
  maxEvaluations?: number;
  refineIterations?: number;
  sparsifyRounds?: number;
  searchSide?: number;
  /** Images per model call; default 256. */
  batchSize?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Awaited between model calls by growingSpheresPaced, so a cancel or a newer request gets in (pacing.ts). */
  pause?: Pause;
}

interface Enemy {
  point: Float32Array;
  dist: number;
}

/**
 * The space changes are sampled in: cells of block × block pixels (edge cells smaller), each channel apart. With a
 * block of 1 it is the pixel space itself and every operation below is the paper's.
 */
export class BlockGrid {
  /** Values of one change: cells × channels. */
  readonly dim: number;
  /** For each image value, the change value it takes. */
  readonly cellOf: Int32Array;
  /** Image values per change value. */
  readonly area: Float32Array;

  constructor(shape: ImageShape, readonly block: number) {
    const [h, w, c] = shape;
    const gh = Math.ceil(h / block);
    const gw = Math.ceil(w / block);
    this.dim = gh * gw * c;
    this.cellOf = new Int32Array(h * w * c);
    this.area = new Float32Array(this.dim);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const cell = (Math.floor(y / block) * gw + Math.floor(x / block)) * c;
        for (let k = 0; k < c; k++) {
          this.cellOf[(y * w + x) * c + k] = cell + k;
          this.area[cell + k]++;
        }
      }
    }
  }

  /** The grid for `shape` with at most `side` cells along its longer side. */
  static forImage(shape: ImageShape, side: number): BlockGrid {
    return new BlockGrid(shape, Math.max(1, Math.ceil(Math.max(shape[0], shape[1]) / Math.max(1, side))));
  }

  /** ‖change‖ in image space. */
  imageNorm(change: Float32Array | Float64Array): number {
    let s = 0;
    for (let i = 0; i < this.dim; i++) s += this.area[i] * change[i] * change[i];
    return Math.sqrt(s);
  }

  /** out[at…] = clip(base + scale · change), in image space. */
  apply(base: Float32Array, scale: number, change: Float32Array | Float64Array, out: Float32Array, at: number): void {
    const { cellOf } = this;
    for (let k = 0; k < base.length; k++) out[at + k] = Math.min(1, Math.max(0, base[k] + scale * change[cellOf[k]]));
  }

  /** acc += weight · (the image-space difference img[at…] − base, summed per cell): the adjoint of `apply`. */
  accumulate(acc: Float64Array, weight: number, img: Float32Array, at: number, base: Float32Array): void {
    const { cellOf } = this;
    for (let k = 0; k < base.length; k++) acc[cellOf[k]] += weight * (img[at + k] - base[k]);
  }

  /** A uniformly random direction of unit image-space norm (a normalised standard Gaussian). */
  direction(rng: SeededRandom, out: Float32Array): void {
    for (let k = 0; k < out.length; k++) out[k] = rng.gaussian();
    const inv = 1 / this.imageNorm(out);
    for (let k = 0; k < out.length; k++) out[k] *= inv;
  }
}

/** One search's state, shared by its phases. */
class Search {
  readonly d: number;
  iterations = 0;
  private scratch = new Float32Array(0);

  constructor(
    readonly oracle: Oracle,
    readonly x: Float32Array,
    readonly original: number,
    readonly target: CounterfactualTarget,
    readonly samples: number,
    readonly rng: SeededRandom,
    readonly grid: BlockGrid,
  ) {
    this.d = x.length;
  }

  /**
   * Room for m images, reused from call to call: at 224×224×3 a layer of 64 samples is 38 MB, and a fresh buffer of
   * that size per layer costs more than filling it. The previous buffer's contents are gone after the next call.
   */
  buffer(m: number): Float32Array {
    if (this.scratch.length < m * this.d) this.scratch = new Float32Array(m * this.d);
    return this.scratch.subarray(0, m * this.d);
  }

  /** Which of m images are enemies. Yields first: each model call is a point where the search may give way. */
  *enemyMask(data: Float32Array, m: number): Generator<void, Uint8Array, void> {
    yield;
    const labels = this.oracle.labels(data, m);
    return Uint8Array.from(labels, (l) => (isEnemy(l, this.original, this.target) ? 1 : 0));
  }

  /** The closest enemy among m samples, or undefined. */
  *closest(data: Float32Array, m: number): Generator<void, Enemy | undefined, void> {
    const enemy = yield* this.enemyMask(data, m);
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < m; i++) {
      if (!enemy[i]) continue;
      const dist = l2dist(data, i * this.d, this.x);
      if (dist < bestDist) [best, bestDist] = [i, dist];
    }
    return best < 0 ? undefined : { point: data.slice(best * this.d, (best + 1) * this.d), dist: bestDist };
  }

  *layer(r0: number, r1: number): Generator<void, Enemy | undefined, void> {
    const n = this.samples;
    return yield* this.closest(sampleLayerOn(this.grid, this.x, n, r0, r1, this.rng, this.buffer(n)), n);
  }

  /**
   * Whether the ball B(x, η) holds an enemy (with the closest one seen), sampled a quarter of the layer at a time and
   * stopped at the first quarter that holds one: the halving only asks whether there is one, and while the ball is
   * still much larger than the distance to the boundary most samples are enemies.
   */
  *ball(eta: number): Generator<void, Enemy | undefined, void> {
    const chunk = Math.max(1, Math.ceil(this.samples / 4));
    for (let s = 0; s < this.samples; s += chunk) {
      const m = Math.min(chunk, this.samples - s);
      const found = yield* this.closest(sampleLayerOn(this.grid, this.x, m, 0, eta, this.rng, this.buffer(m)), m);
      if (found) return found;
    }
    return undefined;
  }

  /** Phase 1 (the paper): halve η while the ball B(x, η) holds enemies, then grow layers outwards from the last empty ball. */
  *searchLayers(maxLayers: number, maxEvaluations: number, eta0: number, layerWidth: number | undefined): Generator<void, Enemy | undefined, void> {
    const more = () => this.iterations < maxLayers && this.oracle.evaluated + this.samples <= maxEvaluations;
    let eta = eta0;
    let found: Enemy | undefined;
    let ballEnemy = yield* this.ball(eta);
    this.iterations++;
    while (ballEnemy && more() && eta > 1e-6) {
      found = ballEnemy;
      eta /= 2;
      ballEnemy = yield* this.ball(eta);
      this.iterations++;
    }
    if (ballEnemy) return ballEnemy;
    const bigger = found; // the enemy of the last ball that held one, should the layers run out
    found = undefined;
    const width = layerWidth ?? eta / 4;
    for (let a0 = eta; !found && more(); a0 += width) {
      found = yield* this.layer(a0, a0 + width);
      this.iterations++;
    }
    return found ?? bigger;
  }

  /** The enemy on the segment x → e closest to x: three grid rounds of 16 → 1/4096 of the way. */
  *bisect(e: Float32Array): Generator<void, Enemy, void> {
    const { x, d } = this;
    const G = 16;
    let lo = 0;
    let hi = 1;
    for (let round = 0; round < 3; round++) {
      const buf = this.buffer(G - 1);
      for (let j = 1; j < G; j++) {
        const t = lo + ((hi - lo) * j) / G;
        for (let k = 0; k < d; k++) buf[(j - 1) * d + k] = x[k] + t * (e[k] - x[k]);
      }
      const first = (yield* this.enemyMask(buf, G - 1)).indexOf(1);
      [lo, hi] = first < 0 ? [lo + ((hi - lo) * (G - 1)) / G, hi] : [lo + ((hi - lo) * first) / G, lo + ((hi - lo) * (first + 1)) / G];
    }
    const point = new Float32Array(d);
    for (let k = 0; k < d; k++) point[k] = Math.min(1, Math.max(0, x[k] + hi * (e[k] - x[k])));
    return { point, dist: l2dist(point, 0, x) };
  }

  /**
   * Phase 2 (HopSkipJump): estimate the boundary normal at the nearest boundary point from the labels of probes
   * around it, step outwards along it, and project back towards x by bisection. Probes and normal live on the grid.
   */
  *refineBoundary(found: Enemy, steps: number): Generator<void, Enemy, void> {
    const { d, samples: n, rng, grid } = this;
    let b = yield* this.bisect(found.point);
    if (b.dist > found.dist) b = found; // the bisection's last point is an enemy, so this is only rounding
    const g = new Float32Array(grid.dim);
    for (let it = 0; it < steps; it++) {
      this.iterations++;
      const delta = b.dist * Math.max(1 / grid.dim, 1 / 1024);
      const probes = this.buffer(n);
      for (let i = 0; i < n; i++) {
        grid.direction(rng, g);
        grid.apply(b.point, delta, g, probes, i * d);
      }
      const enemy = yield* this.enemyMask(probes, n);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += enemy[i] ? 1 : -1;
      mean /= n;
      if (Math.abs(mean) === 1) break; // no label changes around b: nothing to estimate at this scale
      // Baseline-corrected Monte Carlo estimate with the probes' actual (clipped) displacements.
      const normal = new Float64Array(grid.dim);
      for (let i = 0; i < n; i++) grid.accumulate(normal, (enemy[i] ? 1 : -1) - mean, probes, i * d, b.point);
      const norm = grid.imageNorm(normal);
      if (!(norm > 0)) break;
      // Geometric step sizes from HSJA's ‖b − x‖/√t down, all tried in one batch; the largest enemy is kept.
      const S = 8;
      const xi0 = b.dist / Math.sqrt(it + 1);
      const cand = this.buffer(S);
      for (let s = 0; s < S; s++) grid.apply(b.point, xi0 / 2 ** s / norm, normal, cand, s * d);
      const ok = (yield* this.enemyMask(cand, S)).indexOf(1);
      if (ok < 0) continue;
      const next = yield* this.bisect(cand.slice(ok * d, (ok + 1) * d));
      if (next.dist < b.dist) b = next;
    }
    return b;
  }

  /** The coordinates `img` changes, by increasing |change|. */
  changed(img: Float32Array): number[] {
    const { x, d } = this;
    const idx: number[] = [];
    for (let k = 0; k < d; k++) if (img[k] !== x[k]) idx.push(k);
    return idx.sort((a, b) => Math.abs(img[a] - x[a]) - Math.abs(img[b] - x[b]) || a - b);
  }

  /** `img` with coordinates idx[0..k) put back; the largest k before the first failure that the grids meet. */
  *prefixRevert(img: Float32Array, idx: number[], known: number): Generator<void, Float32Array, void> {
    const { x, d } = this;
    const G = 32;
    let lo = known; // reverting idx[0..lo) is known to keep an enemy
    let hi = idx.length + 1; // first failure lies in (lo, hi]; idx.length + 1 stands for "none seen yet"
    while (hi - lo > 1) {
      const ks: number[] = [];
      for (let j = 1; j <= G; j++) {
        const k = lo + Math.ceil(((Math.min(hi, idx.length + 1) - 1 - lo) * j) / G);
        if (k > lo && k < hi && k <= idx.length && ks[ks.length - 1] !== k) ks.push(k);
      }
      if (ks.length === 0) break;
      const buf = this.buffer(ks.length);
      for (let i = 0; i < ks.length; i++) {
        buf.set(img, i * d);
        for (let r = 0; r < ks[i]; r++) buf[i * d + idx[r]] = x[idx[r]];
      }
      const fail = (yield* this.enemyMask(buf, ks.length)).indexOf(0);
      if (fail < 0) {
        lo = ks[ks.length - 1];
        if (lo === idx.length) break;
      } else {
        if (fail > 0) lo = ks[fail - 1];
        hi = ks[fail];
      }
    }
    const out = img.slice();
    for (let r = 0; r < lo; r++) out[idx[r]] = x[idx[r]];
    return out;
  }

  /**
   * Phase 3 (the paper's feature selection): put back the coordinate with the smallest change while the result stays
   * an enemy, batched as a search for the first failing prefix of coordinates sorted by |change|; then `rounds` rounds
   * that revert, again by prefix, the coordinates that can each be reverted on their own (tried a chunk at a time, so
   * memory stays bounded however many coordinates changed).
   */
  *sparsify(point: Float32Array, rounds: number): Generator<void, Float32Array, void> {
    const { x, d } = this;
    const chunk = 256;
    let e = yield* this.prefixRevert(point, this.changed(point), 0);
    this.iterations++;
    for (let round = 0; round < rounds; round++) {
      const idx = this.changed(e);
      if (idx.length === 0) break;
      const single: number[] = [];
      for (let s = 0; s < idx.length; s += chunk) {
        const m = Math.min(chunk, idx.length - s);
        const buf = this.buffer(m);
        for (let i = 0; i < m; i++) {
          buf.set(e, i * d);
          buf[i * d + idx[s + i]] = x[idx[s + i]];
        }
        const enemy = yield* this.enemyMask(buf, m);
        for (let i = 0; i < m; i++) if (enemy[i] === 1) single.push(idx[s + i]);
      }
      this.iterations++;
      if (single.length === 0) break;
      e = yield* this.prefixRevert(e, single, 1);
    }
    return e;
  }
}

/**
 * Growing Spheres with boundary refinement and batched feature-wise sparsification.
 * Returns `found: false` and the input itself when no layer within `maxIterations` holds an enemy.
 */
export function growingSpheres(probs: ProbabilitySource, x: Float32Array, shape: ImageShape, opts: GrowingSpheresOptions = {}): Counterfactual {
  const search = growingSpheresSearch(probs, x, shape, opts);
  let r = search.next();
  while (!r.done) r = search.next();
  return r.value;
}

/** growingSpheres, awaiting `opts.pause` between model calls (every 50 ms at most; pacing.ts). */
export async function growingSpheresPaced(probs: ProbabilitySource, x: Float32Array, shape: ImageShape, opts: GrowingSpheresOptions = {}): Promise<Counterfactual> {
  const tick = pacer(opts.pause, opts.signal);
  const search = growingSpheresSearch(probs, x, shape, opts);
  let r = search.next();
  while (!r.done) {
    await tick();
    r = search.next();
  }
  return r.value;
}

/** The search, yielding before each model call so a driver can give way there. */
function* growingSpheresSearch(probs: ProbabilitySource, x: Float32Array, shape: ImageShape, opts: GrowingSpheresOptions): Generator<void, Counterfactual, void> {
  const startedAt = performance.now();
  checkAbort(opts.signal);
  checkInput(x, shape);
  const o = GROWING_SPHERES_OPTIONS;
  const target = opts.target ?? 'any';
  const n = Math.max(1, Math.floor(opts.samplesPerLayer ?? o.samplesPerLayer.default));
  const maxLayers = Math.max(1, Math.floor(opts.maxIterations ?? o.maxIterations.default));
  const oracle = new Oracle(probs, shape, Math.max(1, Math.floor(opts.batchSize ?? 256)), opts.signal);
  for (const [name, v] of [['eta', opts.eta], ['layerWidth', opts.layerWidth]] as const) {
    if (v !== undefined && !(v > 0)) throw new XaiLensError(`${name} must be positive, got ${v}`);
  }

  const p0 = oracle.predict(x, 1);
  const original = argmax(p0, 0, oracle.classes);
  checkTarget(target, oracle.classes);
  const outcome = { method: 'growing-spheres', x, originalLabel: original, target, startedAt };
  if (target === original) return counterfactualOf({ ...outcome, image: x.slice(), probabilities: p0, iterations: 0 });

  const grid = BlockGrid.forImage(shape, Math.floor(opts.searchSide ?? o.searchSide.default));
  const search = new Search(oracle, x, original, target, n, new SeededRandom(opts.seed ?? 0), grid);
  const maxEvaluations = opts.maxEvaluations ? opts.maxEvaluations : Infinity;
  let found = yield* search.searchLayers(maxLayers, maxEvaluations, opts.eta ?? Math.sqrt(x.length), opts.layerWidth);
  if (!found) return counterfactualOf({ ...outcome, image: x.slice(), probabilities: p0, iterations: search.iterations });
  const l2FirstEnemy = found.dist;
  const refineSteps = Math.max(0, Math.floor(opts.refineIterations ?? o.refineIterations.default));
  if (refineSteps > 0) found = yield* search.refineBoundary(found, refineSteps);
  const l2BeforeSparsification = found.dist;
  const l0BeforeSparsification = search.changed(found.point).length;
  const rounds = Math.floor(opts.sparsifyRounds ?? o.sparsifyRounds.default);
  const e = rounds >= 0 ? yield* search.sparsify(found.point, rounds) : found.point;
  return counterfactualOf({
    ...outcome, image: e, probabilities: oracle.predict(e, 1), iterations: search.iterations,
    extra: { l2FirstEnemy, l2BeforeSparsification, l0BeforeSparsification, searchBlock: grid.block },
  });
}

/**
 * n points uniform in the spherical layer r0 ≤ ‖z − x‖ ≤ r1 (image-space norm) of the grid's changes, clipped to
 * [0, 1], written to `out`. Uniform in volume means r^D is uniform in [r0^D, r1^D] for the grid's dimension D; with D
 * in the hundreds r^D overflows, so r = r1·(s + u(1 − s))^(1/D), s = (r0/r1)^D, is taken through logarithms.
 */
export function sampleLayerOn(grid: BlockGrid, x: Float32Array, n: number, r0: number, r1: number, rng: SeededRandom, out: Float32Array): Float32Array {
  const D = grid.dim;
  const dir = new Float32Array(D);
  const s = r0 > 0 ? Math.exp(D * Math.log(r0 / r1)) : 0;
  for (let i = 0; i < n; i++) {
    grid.direction(rng, dir);
    const u = 1 - rng.next(); // (0, 1]: keeps the logarithm finite
    const r = r1 * Math.exp(Math.log(s + u * (1 - s)) / D);
    grid.apply(x, r, dir, out, i * x.length);
  }
  return out;
}

/** `sampleLayerOn` in pixel space (a grid of 1×1 cells) for an image of x.length values. */
export function sampleLayer(x: Float32Array, n: number, r0: number, r1: number, rng: SeededRandom): Float32Array {
  return sampleLayerOn(new BlockGrid([1, x.length, 1], 1), x, n, r0, r1, rng, new Float32Array(n * x.length));
}
