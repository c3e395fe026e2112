/**
 * Counterfactual explanations: a small change to the image that changes the model's decision ("had these pixels
 * been so, the model would have said k").
 *
 * - `growingSpheres`: black-box (probabilities only). Growing Spheres of Laugel, Lesot, Marsala, Renard & Detyniecki,
 *   "Inverse Classification for Comparison-based Interpretability in Machine Learning" (IPMU 2018): sample uniformly
 *   in L2 spherical layers of growing radius around x until one holds an "enemy", take the closest, then make the
 *   change sparse by putting coordinates back. Between the two steps an optional decision-based boundary refinement
 *   in the manner of HopSkipJump (Chen, Jordan & Wainwright, "HopSkipJumpAttack: A Query-Efficient Decision-Based
 *   Attack", IEEE S&P 2020) moves the enemy to the nearest boundary point it can find: in d dimensions uniform
 *   samples hit the cap of the ball beyond a flat boundary so rarely that the first enemy lies well beyond the true
 *   distance (~1.5× on 16 pixels, more on 784), which the refinement removes.
 * - `gradientCounterfactual`: white-box. Wachter, Mittelstadt & Russell, "Counterfactual Explanations Without Opening
 *   the Black Box" (Harvard JOLT 2017) with the elastic-net distance of EAD (Chen, Sharma, Zhang, Yi & Hsieh, "EAD:
 *   Elastic-Net Attacks to Deep Neural Networks via Adversarial Examples", AAAI 2018) and the logit margin loss and
 *   constant search of Carlini & Wagner ("Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017).
 *
 * Contrastive explanations: for a misclassified input, pass `target` = its true label. The counterfactual is then
 * what the image would need for the model to read it correctly — the "pertinent negative" flavour of Dhurandhar et
 * al., "Explanations based on the Missing" (NeurIPS 2018), without their autoencoder term.
 *
 * Cancellation: both functions are synchronous, so an AbortSignal is polled between model batches (and before
 * anything runs); an aborted signal throws XaiLensError('cancelled') and leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { SeededRandom } from '../data/random';
import { argmax } from '../inference';
import type { ImageShape, ProbFn, ScoreFn } from './types';

export type CounterfactualTarget = number | 'any';

export interface Counterfactual {
  method: 'growing-spheres' | 'gradient';
  /** h × w × c values in [0, 1]. */
  image: Float32Array;
  /** Class the model gives `image`, and its probability. */
  label: number;
  probability: number;
  /** Class the model gives the original input. */
  originalLabel: number;
  target: CounterfactualTarget;
  /** image − original, per value. */
  diff: Float32Array;
  /** Values changed by more than 1e-6. */
  l0: number;
  l1: number;
  l2: number;
  linf: number;
  /** Growing spheres: layers searched + refinement steps + sparsification rounds; gradient: optimiser steps. */
  iterations: number;
  ms: number;
  /** Whether `image` is classified as the target (any class but the original for 'any'). */
  found: boolean;
  /** Growing spheres: L2 distance of the closest enemy of the first layer that held one (the paper's answer). */
  l2FirstEnemy?: number;
  /** Growing spheres: L2 and L0 of the enemy handed to sparsification (after boundary refinement). */
  l2BeforeSparsification?: number;
  l0BeforeSparsification?: number;
  /** Gradient: the distance weight λ of the returned candidate. */
  lambda?: number;
}

export interface GrowingSpheresOptions {
  /** Class to reach, or 'any' (default): any class but the original prediction. */
  target?: CounterfactualTarget;
  /** First ball radius; default √d (the diagonal of [0,1]^d, so the ball covers the whole box), halved until no
   * enemy is sampled inside it, as in the paper. */
  eta?: number;
  /** Width of each spherical layer; default η/4 for the final η (the paper uses η; thinner layers find a closer
   * first enemy for a few more batches, as the authors' implementation does). */
  layerWidth?: number;
  /** Samples per layer (and per boundary-normal estimate); default 64 (measured: ~1.3 s per 28×28 digit on wasm). */
  samplesPerLayer?: number;
  /** Most layers searched (halvings included); default 64. */
  maxIterations?: number;
  /** Boundary refinement steps; default 2 (each roughly halves the distance on MNIST); 0 = plain Growing Spheres. */
  refineIterations?: number;
  /** Rounds of single-coordinate reverts after the paper's greedy pass; default 0 (the paper's pass only: the extra
   * rounds lower L0 further but cost ~0.5 s on a 28×28 digit); negative = no sparsification. */
  sparsifyRounds?: number;
  /** Images per model call; default 256. */
  batchSize?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface GradientCounterfactualOptions {
  /** Class to reach, or 'any' (default): push the original class below the best other one. */
  target?: CounterfactualTarget;
  /** Centre of the first λ grid (weight of the distance term); default 0.1. */
  lambda?: number;
  /** β: weight of L1 relative to squared L2 inside the distance, in pixel units (a coordinate whose plain-L2 change
   * would be under β/2 is left alone); default 0.1. */
  l1?: number;
  /** Adam step size in pixel units, decayed as √(1 − t/T) within each round; default 0.05. */
  lr?: number;
  /** Optimiser steps in all (split evenly over the search rounds); default 40 (≈ 1.2 s on a 28×28 digit, wasm). */
  maxIterations?: number;
  /** Rounds of the λ search; default 2. */
  searchSteps?: number;
  /** λ values optimised side by side as one batch per round; default 4. */
  parallel?: number;
  /** Logit margin κ the target must win by (Carlini-Wagner); default 0.1. */
  confidence?: number;
  /** Accepted for symmetry with the sampling methods: the optimisation is deterministic. */
  seed?: number;
  signal?: AbortSignal;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new XaiLensError('cancelled');
}

function now(): number {
  return performance.now();
}

/** The model seen as batches of flat images; counts what it evaluates. */
class Oracle {
  readonly size: number;
  classes = 0;
  evaluated = 0;

  constructor(
    private readonly probs: ProbFn,
    readonly shape: ImageShape,
    private readonly batchSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.size = shape[0] * shape[1] * shape[2];
  }

  /** Probabilities of n images stored back to back: n × classes. */
  predict(data: Float32Array, n: number): Float32Array {
    let out = new Float32Array(0);
    for (let s = 0; s < n; s += this.batchSize) {
      checkAbort(this.signal);
      const m = Math.min(this.batchSize, n - s);
      const t = tf.tidy(() => this.probs(tf.tensor4d(data.slice(s * this.size, (s + m) * this.size), [m, ...this.shape])));
      const v = t.dataSync();
      this.classes = t.shape[1];
      if (out.length === 0) out = new Float32Array(n * this.classes);
      out.set(v, s * this.classes);
      t.dispose();
    }
    this.evaluated += n;
    return out;
  }

  /** Arg-max class of each of n images. */
  labels(data: Float32Array, n: number): Int32Array {
    const p = this.predict(data, n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = argmax(p, i * this.classes, this.classes);
    return out;
  }
}

function checkInput(x: Float32Array, shape: ImageShape): void {
  const size = shape[0] * shape[1] * shape[2];
  if (x.length !== size) throw new XaiLensError(`image has ${x.length} values, expected ${size} (${shape.join('×')})`);
}

function checkTarget(target: CounterfactualTarget, classes: number): void {
  if (target === 'any') return;
  if (!Number.isInteger(target) || target < 0 || target >= classes) {
    throw new XaiLensError(`invalid target class ${String(target)} (model has ${classes} classes)`);
  }
}

function isEnemy(label: number, original: number, target: CounterfactualTarget): boolean {
  return target === 'any' ? label !== original : label === target;
}

function l2dist(a: Float32Array, aAt: number, x: Float32Array): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) {
    const d = a[aAt + j] - x[j];
    s += d * d;
  }
  return Math.sqrt(s);
}

function finish(
  method: Counterfactual['method'],
  image: Float32Array,
  x: Float32Array,
  p: Float32Array,
  originalLabel: number,
  target: CounterfactualTarget,
  iterations: number,
  t0: number,
  extra: Partial<Counterfactual>,
): Counterfactual {
  const diff = new Float32Array(x.length);
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let linf = 0;
  for (let j = 0; j < x.length; j++) {
    const d = (diff[j] = image[j] - x[j]);
    const a = Math.abs(d);
    if (a > 1e-6) l0++;
    l1 += a;
    l2 += a * a;
    if (a > linf) linf = a;
  }
  const label = argmax(p, 0, p.length);
  return {
    method,
    image,
    label,
    probability: p[label],
    originalLabel,
    target,
    diff,
    l0,
    l1,
    l2: Math.sqrt(l2),
    linf,
    iterations,
    ms: now() - t0,
    found: isEnemy(label, originalLabel, target),
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Growing Spheres

/**
 * Growing Spheres (Laugel et al. 2018) with boundary refinement and batched feature-wise sparsification.
 * Returns `found: false` and the input itself when no layer within `maxIterations` holds an enemy.
 */
export function growingSpheres(
  probs: ProbFn,
  x: Float32Array,
  shape: ImageShape,
  opts: GrowingSpheresOptions = {},
): Counterfactual {
  const t0 = now();
  checkAbort(opts.signal);
  checkInput(x, shape);
  const target = opts.target ?? 'any';
  const n = Math.max(1, Math.floor(opts.samplesPerLayer ?? 64));
  const maxLayers = Math.max(1, Math.floor(opts.maxIterations ?? 64));
  const oracle = new Oracle(probs, shape, Math.max(1, Math.floor(opts.batchSize ?? 256)), opts.signal);
  const rng = new SeededRandom(opts.seed ?? 0);
  const d = x.length;
  for (const [name, v] of [['eta', opts.eta], ['layerWidth', opts.layerWidth]] as const) {
    if (v !== undefined && !(v > 0)) throw new XaiLensError(`${name} must be positive, got ${v}`);
  }

  const p0 = oracle.predict(x, 1);
  const original = argmax(p0, 0, oracle.classes);
  checkTarget(target, oracle.classes);
  if (target === original) return finish('growing-spheres', x.slice(), x, p0, original, target, 0, t0, {});

  const enemyMask = (data: Float32Array, m: number): Uint8Array => {
    const labels = oracle.labels(data, m);
    return Uint8Array.from(labels, (l) => (isEnemy(l, original, target) ? 1 : 0));
  };
  /** The closest enemy among m samples, or undefined. */
  const closest = (data: Float32Array, m: number): { point: Float32Array; dist: number } | undefined => {
    const enemy = enemyMask(data, m);
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < m; i++) {
      if (!enemy[i]) continue;
      const dist = l2dist(data, i * d, x);
      if (dist < bestDist) [best, bestDist] = [i, dist];
    }
    return best < 0 ? undefined : { point: data.slice(best * d, (best + 1) * d), dist: bestDist };
  };

  // 1. Halve η while the ball B(x, η) holds enemies; 2. grow layers outwards from the last empty ball.
  let iterations = 0;
  let eta = opts.eta ?? Math.sqrt(d);
  let found: { point: Float32Array; dist: number } | undefined;
  let ballEnemy = closest(sampleLayer(x, n, 0, eta, rng), n);
  iterations++;
  while (ballEnemy && iterations < maxLayers && eta > 1e-6) {
    found = ballEnemy;
    eta /= 2;
    ballEnemy = closest(sampleLayer(x, n, 0, eta, rng), n);
    iterations++;
  }
  if (ballEnemy) found = ballEnemy;
  else {
    const bigger = found; // the enemy of the last ball that held one, should the layers run out
    found = undefined;
    const width = opts.layerWidth ?? eta / 4;
    for (let a0 = eta; !found && iterations < maxLayers; a0 += width) {
      found = closest(sampleLayer(x, n, a0, a0 + width, rng), n);
      iterations++;
    }
    found ??= bigger;
  }
  if (!found) return finish('growing-spheres', x.slice(), x, p0, original, target, iterations, t0, {});
  const l2FirstEnemy = found.dist;

  // 3. Boundary refinement (HopSkipJump): estimate the boundary normal at the nearest boundary point from the
  // labels of probes around it, step outwards along it, and project back towards x by bisection.
  const bisect = (e: Float32Array): { point: Float32Array; dist: number } => {
    // Smallest t in (0, 1] with x + t(e − x) an enemy (e is one); three grid rounds of 16 → 1/4096 of the way.
    const G = 16;
    let lo = 0;
    let hi = 1;
    for (let round = 0; round < 3; round++) {
      const buf = new Float32Array((G - 1) * d);
      for (let j = 1; j < G; j++) {
        const t = lo + ((hi - lo) * j) / G;
        for (let k = 0; k < d; k++) buf[(j - 1) * d + k] = x[k] + t * (e[k] - x[k]);
      }
      const enemy = enemyMask(buf, G - 1);
      const first = enemy.indexOf(1);
      const [nlo, nhi] = first < 0 ? [lo + ((hi - lo) * (G - 1)) / G, hi] : [lo + ((hi - lo) * first) / G, lo + ((hi - lo) * (first + 1)) / G];
      [lo, hi] = [nlo, nhi];
    }
    const point = new Float32Array(d);
    for (let k = 0; k < d; k++) point[k] = Math.min(1, Math.max(0, x[k] + hi * (e[k] - x[k])));
    return { point, dist: l2dist(point, 0, x) };
  };
  const refineSteps = Math.max(0, Math.floor(opts.refineIterations ?? 2));
  if (refineSteps > 0) {
    let b = bisect(found.point);
    if (b.dist > found.dist) b = found; // the bisection's last point is an enemy, so this is only rounding
    for (let it = 0; it < refineSteps; it++) {
      iterations++;
      const delta = b.dist * Math.max(1 / d, 1 / 1024);
      const probes = new Float32Array(n * d);
      const g = new Float32Array(d);
      for (let i = 0; i < n; i++) {
        gaussianDirection(rng, g);
        for (let k = 0; k < d; k++) probes[i * d + k] = Math.min(1, Math.max(0, b.point[k] + delta * g[k]));
      }
      const enemy = enemyMask(probes, n);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += enemy[i] ? 1 : -1;
      mean /= n;
      if (Math.abs(mean) === 1) break; // no label changes around b: nothing to estimate at this scale
      // Baseline-corrected Monte Carlo estimate with the probes' actual (clipped) displacements.
      const normal = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const wgt = (enemy[i] ? 1 : -1) - mean;
        for (let k = 0; k < d; k++) normal[k] += wgt * (probes[i * d + k] - b.point[k]);
      }
      let norm = 0;
      for (let k = 0; k < d; k++) norm += normal[k] * normal[k];
      norm = Math.sqrt(norm);
      if (!(norm > 0)) break;
      // Geometric step sizes from HSJA's ‖b − x‖/√t down, all tried in one batch; the largest enemy is kept.
      const S = 8;
      const xi0 = b.dist / Math.sqrt(it + 1);
      const cand = new Float32Array(S * d);
      for (let s = 0; s < S; s++) {
        const xi = xi0 / 2 ** s / norm;
        for (let k = 0; k < d; k++) cand[s * d + k] = Math.min(1, Math.max(0, b.point[k] + xi * normal[k]));
      }
      const ok = enemyMask(cand, S).indexOf(1);
      if (ok < 0) continue;
      const next = bisect(cand.slice(ok * d, (ok + 1) * d));
      if (next.dist < b.dist) b = next;
    }
    found = b;
  }
  const l2BeforeSparsification = found.dist;

  // 4. Sparsification (the paper's feature selection): put back the coordinate with the smallest change while the
  // result stays an enemy, batched as a search for the first failing prefix of coordinates sorted by |change|;
  // then rounds that revert, again by prefix, the coordinates that can each be reverted on their own.
  let e = found.point;
  const changed = (img: Float32Array): number[] => {
    const idx: number[] = [];
    for (let k = 0; k < d; k++) if (img[k] !== x[k]) idx.push(k);
    return idx.sort((a, b) => Math.abs(img[a] - x[a]) - Math.abs(img[b] - x[b]) || a - b);
  };
  const l0BeforeSparsification = changed(e).length;
  /** e with coordinates idx[0..k) put back; the largest k before the first failure that the grids meet. */
  const prefixRevert = (img: Float32Array, idx: number[], known: number): Float32Array => {
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
      const buf = new Float32Array(ks.length * d);
      for (let i = 0; i < ks.length; i++) {
        buf.set(img, i * d);
        for (let r = 0; r < ks[i]; r++) buf[i * d + idx[r]] = x[idx[r]];
      }
      const enemy = enemyMask(buf, ks.length);
      const fail = enemy.indexOf(0);
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
  };
  const rounds = Math.floor(opts.sparsifyRounds ?? 0);
  if (rounds >= 0) {
    e = prefixRevert(e, changed(e), 0);
    iterations++;
    for (let round = 0; round < rounds; round++) {
      const idx = changed(e);
      if (idx.length === 0) break;
      const buf = new Float32Array(idx.length * d);
      for (let i = 0; i < idx.length; i++) {
        buf.set(e, i * d);
        buf[i * d + idx[i]] = x[idx[i]];
      }
      const enemy = enemyMask(buf, idx.length);
      const single = idx.filter((_, i) => enemy[i] === 1);
      iterations++;
      if (single.length === 0) break;
      e = prefixRevert(e, single, 1);
    }
  }
  const p = oracle.predict(e, 1);
  return finish('growing-spheres', e, x, p, original, target, iterations, t0, {
    l2FirstEnemy,
    l2BeforeSparsification,
    l0BeforeSparsification,
  });
}

/** A unit vector in a uniformly random direction (normalised standard Gaussian). */
function gaussianDirection(rng: SeededRandom, out: Float32Array): void {
  let s = 0;
  for (let k = 0; k < out.length; k++) {
    const g = rng.gaussian();
    out[k] = g;
    s += g * g;
  }
  const inv = 1 / Math.sqrt(s);
  for (let k = 0; k < out.length; k++) out[k] *= inv;
}

/**
 * n points uniform in the spherical layer r0 ≤ ‖z − x‖ ≤ r1, clipped to [0, 1]. Uniform in volume means r^d is
 * uniform in [r0^d, r1^d]; with d in the hundreds r^d overflows, so r = r1·(s + u(1 − s))^(1/d), s = (r0/r1)^d,
 * is taken through logarithms.
 */
export function sampleLayer(x: Float32Array, n: number, r0: number, r1: number, rng: SeededRandom): Float32Array {
  const d = x.length;
  const out = new Float32Array(n * d);
  const dir = new Float32Array(d);
  const s = r0 > 0 ? Math.exp(d * Math.log(r0 / r1)) : 0;
  for (let i = 0; i < n; i++) {
    gaussianDirection(rng, dir);
    const u = 1 - rng.next(); // (0, 1]: keeps the logarithm finite
    const r = r1 * Math.exp(Math.log(s + u * (1 - s)) / d);
    for (let k = 0; k < d; k++) out[i * d + k] = Math.min(1, Math.max(0, x[k] + r * dir[k]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient counterfactual

/**
 * Minimises, per λ, margin(scores(x')) + λ·(‖x' − x‖² + β‖x' − x‖₁) over x' ∈ [0,1]^d: Adam on the smooth part,
 * then the L1 term's proximal step (soft threshold towards x, scaled per coordinate like Adam's step, so unchanged
 * pixels stay exactly equal to x) and the projection on the box — EAD's ISTA with Adam's preconditioning.
 * The margin is Carlini-Wagner's hinge on scores: max(best other − target + κ, 0), or for 'any'
 * max(original − best other + κ, 0). Each round optimises `parallel` values of λ as one batch; the next round
 * searches between the largest λ that still reached the target and the smallest that did not (C&W's constant
 * search, on a grid). Returns the reached candidate with the smallest elastic-net distance, confirmed by `probs`.
 */
export function gradientCounterfactual(
  scores: ScoreFn,
  probs: ProbFn,
  x: Float32Array,
  shape: ImageShape,
  opts: GradientCounterfactualOptions = {},
): Counterfactual {
  const t0 = now();
  checkAbort(opts.signal);
  checkInput(x, shape);
  const target = opts.target ?? 'any';
  const beta = opts.l1 ?? 0.1;
  const lr = opts.lr ?? 0.05;
  const kappa = opts.confidence ?? 0.1;
  const rounds = Math.max(1, Math.floor(opts.searchSteps ?? 2));
  const P = Math.max(1, Math.floor(opts.parallel ?? 4));
  const perRound = Math.max(1, Math.ceil((opts.maxIterations ?? 40) / rounds));
  const d = x.length;
  const oracle = new Oracle(probs, shape, 256, opts.signal);

  const p0 = oracle.predict(x, 1);
  const classes = oracle.classes;
  const original = argmax(p0, 0, classes);
  checkTarget(target, classes);
  if (target === original) return finish('gradient', x.slice(), x, p0, original, target, 0, t0, {});
  const cls = target === 'any' ? original : target;
  const sign = target === 'any' ? 1 : -1; // loss = relu(sign·(z_cls − best other) + κ)

  // First grid: λ0·10^-2 … λ0·10^2.
  const lambda0 = opts.lambda ?? 0.1;
  let grid = Array.from({ length: P }, (_, i) => lambda0 * 10 ** (P === 1 ? 0 : -2 + (4 * i) / (P - 1)));
  const candidates: { image: Float32Array; dist: number; lambda: number }[] = [];
  const reached = new Map<number, boolean>();
  let last = x.slice();
  let iterations = 0;

  const x0 = tf.tensor4d(x, [1, ...shape]);
  const hot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([cls], 'int32'), classes), 'float32') as tf.Tensor2D);
  try {
    for (let round = 0; round < rounds; round++) {
      const lam = grid;
      const res = optimiseRound(scores, x0, hot, lam, sign, kappa, beta, lr, perRound, opts.signal);
      iterations += perRound;
      for (let i = 0; i < lam.length; i++) {
        reached.set(lam[i], res.bestDist[i] < Infinity);
        if (res.bestDist[i] < Infinity) {
          candidates.push({ image: res.best.slice(i * d, (i + 1) * d), dist: res.bestDist[i], lambda: lam[i] });
        }
      }
      last = res.last.slice(0, d); // the smallest λ of the round: the most aggressive lane
      grid = nextGrid(reached, P);
    }
  } finally {
    x0.dispose();
    hot.dispose();
  }

  // Confirm with the probabilities (scores may be log-probabilities of another head, or rounding may bite).
  candidates.sort((a, b) => a.dist - b.dist);
  if (candidates.length > 0) {
    const buf = new Float32Array(candidates.length * d);
    candidates.forEach((c, i) => buf.set(c.image, i * d));
    const p = oracle.predict(buf, candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const label = argmax(p, i * classes, classes);
      if (isEnemy(label, original, target)) {
        return finish('gradient', candidates[i].image, x, p.slice(i * classes, (i + 1) * classes), original, target, iterations, t0, {
          lambda: candidates[i].lambda,
        });
      }
    }
  }
  return finish('gradient', last, x, oracle.predict(last, 1), original, target, iterations, t0, {});
}

/** The next λ grid: between the largest λ that reached the target and the smallest larger one that did not. */
function nextGrid(reached: Map<number, boolean>, P: number): number[] {
  const tried = [...reached.keys()].sort((a, b) => a - b);
  const ok = tried.filter((l) => reached.get(l));
  let lo: number;
  let hi: number;
  if (ok.length === 0) {
    // Nothing reached: the distance weighs too much everywhere; look far below.
    hi = tried[0];
    lo = hi * 1e-4;
    return Array.from({ length: P }, (_, i) => lo * (hi / lo) ** (i / P));
  }
  lo = ok[ok.length - 1];
  const above = tried.filter((l) => l > lo && !reached.get(l));
  if (above.length === 0) {
    hi = lo * 1e4;
    return Array.from({ length: P }, (_, i) => lo * (hi / lo) ** ((i + 1) / P));
  }
  hi = above[0];
  return Array.from({ length: P }, (_, i) => lo * (hi / lo) ** ((i + 1) / (P + 1)));
}

interface RoundResult {
  /** P × d: each lane's best reached iterate (x where none). */
  best: Float32Array;
  /** Elastic-net distance of each lane's best; Infinity where the lane never reached the target. */
  bestDist: Float64Array;
  /** P × d: the last iterates. */
  last: Float32Array;
}

function optimiseRound(
  scores: ScoreFn,
  x0: tf.Tensor4D,
  hot: tf.Tensor2D,
  lambdas: number[],
  sign: number,
  kappa: number,
  beta: number,
  lr: number,
  steps: number,
  signal: AbortSignal | undefined,
): RoundResult {
  const P = lambdas.length;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const lam = tf.tensor4d(lambdas, [P, 1, 1, 1]);
  const X = tf.tile(x0, [P, 1, 1, 1]);
  let adv = X.clone();
  let m = tf.zerosLike(X);
  let v = tf.zerosLike(X);
  let best = X.clone();
  const bestDist = new Float64Array(P).fill(Infinity);

  /** Per lane: the hinge's argument (target's deficit, > −κ while the hinge is active), ‖δ‖², ‖δ‖₁. */
  const parts = (a: tf.Tensor4D) => {
    const z = scores(a);
    const zc = tf.sum(tf.mul(z, hot), 1);
    const other = tf.max(tf.sub(z, tf.mul(hot, 1e9)), 1);
    const gap = tf.mul(tf.sub(zc, other), sign);
    const delta = tf.sub(a, X);
    return { gap, d2: tf.sum(tf.square(delta), [1, 2, 3]), d1: tf.sum(tf.abs(delta), [1, 2, 3]) };
  };
  const statsOf = (p: ReturnType<typeof parts>) => tf.stack([tf.neg(p.gap), p.d2, p.d1], 1) as tf.Tensor2D;
  // The stats of the point the gradient is taken at leave the gradient's scope through tf.keep.
  let seen: tf.Tensor2D | undefined;
  const grad = tf.grad((a: tf.Tensor): tf.Scalar => {
    const p = parts(a as tf.Tensor4D);
    seen = tf.keep(statsOf(p));
    return tf.sum(tf.add(tf.relu(tf.add(p.gap, kappa)), tf.mul(tf.reshape(lam, [P]), p.d2)));
  });
  /** Keeps, per lane, the point just scored if it reached the target (margin ≥ κ) closer than before. */
  const track = (stats: tf.Tensor2D) => {
    const s = stats.dataSync();
    const improved = new Uint8Array(P);
    let any = false;
    for (let i = 0; i < P; i++) {
      const dist = s[3 * i + 1] + beta * s[3 * i + 2];
      if (s[3 * i] >= kappa && dist < bestDist[i]) {
        bestDist[i] = dist;
        improved[i] = 1;
        any = true;
      }
    }
    if (!any) return;
    const nb = tf.tidy(() => tf.where(tf.tensor4d(improved, [P, 1, 1, 1], 'bool'), adv, best));
    best.dispose();
    best = nb;
  };

  try {
    for (let t = 1; t <= steps; t++) {
      checkAbort(signal);
      const g = grad(adv) as tf.Tensor4D;
      const stats = seen as tf.Tensor2D | undefined;
      seen = undefined;
      if (stats) {
        track(stats);
        stats.dispose();
      }
      const rate = lr * Math.sqrt(1 - (t - 1) / steps);
      const next = tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.sqrt(tf.div(v1, 1 - b2 ** t)), eps);
        const step = tf.div(tf.div(m1, 1 - b1 ** t), denom);
        const z = tf.sub(tf.sub(adv, tf.mul(step, rate)), X);
        // Proximal step of λβ‖δ‖₁ in Adam's metric: soft threshold by rate·λβ/denom, then the box.
        const thr = tf.div(tf.mul(lam, rate * beta), denom);
        const shrunk = tf.mul(tf.sign(z), tf.relu(tf.sub(tf.abs(z), thr)));
        return [tf.clipByValue(tf.add(X, shrunk), 0, 1), m1, v1] as tf.Tensor4D[];
      });
      g.dispose();
      adv.dispose();
      m.dispose();
      v.dispose();
      [adv, m, v] = next;
    }
    // The final iterate has not been scored yet.
    const stats = tf.tidy(() => statsOf(parts(adv)));
    track(stats);
    stats.dispose();
    const bestData = best.dataSync() as Float32Array;
    const lastData = adv.dataSync() as Float32Array;
    return { best: Float32Array.from(bestData), bestDist, last: Float32Array.from(lastData) };
  } finally {
    (seen as tf.Tensor2D | undefined)?.dispose();
    for (const t of [lam, X, adv, m, v, best]) t.dispose();
  }
}
