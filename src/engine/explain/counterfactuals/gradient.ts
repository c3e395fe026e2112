/**
 * Gradient counterfactual, white-box: Wachter, Mittelstadt & Russell, "Counterfactual Explanations Without Opening the
 * Black Box" (Harvard JOLT 2017) with the elastic-net distance of EAD (Chen, Sharma, Zhang, Yi & Hsieh, AAAI 2018)
 * and the logit margin loss and constant search of Carlini & Wagner (IEEE S&P 2017).
 */
import * as tf from '@tensorflow/tfjs';
import type { OptionSchema } from '../../../shared/descriptors';
import { argmax } from '../../inference';
import type { GradientPeer, ImageShape, ModelView, ScoreFn } from '../types';
import type { ProbabilitySource } from '../flatProbabilities';
import { explainThreadsPay, SPLIT_MIN_MACS } from '../../parallel/replica';
import { checkAbort, checkInput, checkTarget, counterfactualOf, isEnemy, Oracle } from './oracle';
import type { Counterfactual, CounterfactualTarget } from './types';
import { pacer, type Pause } from '../pacing';

/** The options a user can set (settings, CLI); the registry declares the method with this schema. */
export const GRADIENT_COUNTERFACTUAL_OPTIONS = {
  lambda: { type: 'number', default: 0.1, min: 1e-8, max: 1e4, description: 'centre of the first grid of λ, the weight of the distance term' },
  l1: {
    type: 'number', default: 0.1, min: 0, max: 10,
    description: 'β: weight of L1 relative to squared L2 in the distance, in pixel units (a change under β/2 is left alone)',
  },
  lr: { type: 'number', default: 0.05, min: 1e-5, max: 1, description: 'Adam step size in pixel units, decayed as √(1 − t/T) within each round' },
  maxIterations: {
    type: 'integer', default: 40, min: 1, max: 10000,
    description: 'optimiser steps in all, split evenly over the search rounds (≈ 1.2 s on a 28×28 digit at 40, wasm)',
  },
  searchSteps: { type: 'integer', default: 2, min: 1, max: 20, description: 'rounds of the λ search' },
  parallel: { type: 'integer', default: 4, min: 1, max: 64, description: 'values of λ optimised side by side as one batch per round' },
  confidence: { type: 'number', default: 0.1, min: 0, max: 100, description: 'logit margin κ the target must win by (Carlini-Wagner)' },
} as const satisfies OptionSchema;

export interface GradientCounterfactualOptions {
  /** Class to reach, or 'any' (default): push the original class below the best other one. */
  target?: CounterfactualTarget;
  lambda?: number;
  l1?: number;
  lr?: number;
  maxIterations?: number;
  searchSteps?: number;
  parallel?: number;
  confidence?: number;
  /** Accepted for symmetry with the sampling methods: the optimisation is deterministic. */
  seed?: number;
  signal?: AbortSignal;
  /** Awaited between steps by gradientCounterfactualOn, so a cancel or a newer request gets in (pacing.ts). */
  pause?: Pause;
}

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
  probs: ProbabilitySource,
  x: Float32Array,
  shape: ImageShape,
  opts: GradientCounterfactualOptions = {},
): Counterfactual {
  const search = counterfactualSearch(scores, probs, x, shape, opts);
  let r = search.next();
  while (!r.done) {
    let g: LaneGradient;
    try {
      g = laneGradient(scores, r.value);
    } catch (err) {
      search.throw(err); // releases the search's tensors, then rethrows
      throw err;
    }
    r = search.next(g);
  }
  return r.value;
}

/**
 * gradientCounterfactual with each step's λ lanes split between this thread and `peer`, the engine's second thread:
 * the second half of the lanes goes there, the first is computed here meanwhile. The lanes are independent (the loss
 * is a sum over lanes), so the joined gradient is the one-thread one up to float rounding; each thread holds at most
 * half the lanes, within the memory budget the lane count was cut to. Without a peer that pays: gradientCounterfactual.
 */
export async function gradientCounterfactualOn(
  view: Pick<ModelView, 'scores' | 'probabilities' | 'flatProbabilities' | 'secondThread' | 'cost'>,
  x: Float32Array,
  shape: ImageShape,
  opts: GradientCounterfactualOptions = {},
): Promise<Counterfactual> {
  const peer = view.secondThread;
  // A step of a small model is a few milliseconds: the hand-over to the other thread would cost more than it saves
  // (a 28×28 digit's search took 1.7× as long split, measured on this machine under load).
  const pays = (view.cost?.macs ?? Infinity) >= SPLIT_MIN_MACS;
  const tick = pacer(opts.pause, opts.signal);
  if (!peer || !explainThreadsPay() || !pays) {
    return driveSearch(counterfactualSearch(view.scores, view, x, shape, opts), async (step) => {
      await tick();
      return laneGradient(view.scores, step);
    });
  }
  await peer.ready; // still loading: the search's steps are worth waiting for (see sampledGradientSum)
  // Split 2 + 1, three lanes take as long per step as four would: an odd count gives up its last lane (at
  // 224×224×3, 3 lanes took 11.1 s and 2 lanes 8.4 s for the same counterfactual).
  const lanes = Math.max(1, Math.floor(opts.parallel ?? GRADIENT_COUNTERFACTUAL_OPTIONS.parallel.default));
  const search = counterfactualSearch(view.scores, view, x, shape, { ...opts, parallel: lanes > 1 ? lanes - (lanes % 2) : lanes });
  return driveSearch(search, async (step) => {
    await tick();
    return splitLaneGradient(view.scores, step, peer);
  });
}

/** Runs the search, each step's gradient from `gradient`; a failure releases the search's tensors, then rethrows. */
async function driveSearch(search: Generator<LaneStep, Counterfactual, LaneGradient>, gradient: (step: LaneStep) => Promise<LaneGradient>): Promise<Counterfactual> {
  let r = search.next();
  while (!r.done) {
    let g: LaneGradient;
    try {
      g = await gradient(r.value);
    } catch (err) {
      search.throw(err);
      throw err;
    }
    r = search.next(g);
  }
  return r.value;
}

/** The search itself: yields each step's lanes and takes their gradient back, so one or two threads can drive it. */
function* counterfactualSearch(
  scores: ScoreFn,
  probs: ProbabilitySource,
  x: Float32Array,
  shape: ImageShape,
  opts: GradientCounterfactualOptions,
): Generator<LaneStep, Counterfactual, LaneGradient> {
  const startedAt = performance.now();
  checkAbort(opts.signal);
  checkInput(x, shape);
  const o = GRADIENT_COUNTERFACTUAL_OPTIONS;
  const target = opts.target ?? 'any';
  const beta = opts.l1 ?? o.l1.default;
  const lr = opts.lr ?? o.lr.default;
  const kappa = opts.confidence ?? o.confidence.default;
  const rounds = Math.max(1, Math.floor(opts.searchSteps ?? o.searchSteps.default));
  const P = Math.max(1, Math.floor(opts.parallel ?? o.parallel.default));
  const perRound = Math.max(1, Math.ceil((opts.maxIterations ?? o.maxIterations.default) / rounds));
  const d = x.length;
  const oracle = new Oracle(probs, shape, 256, opts.signal);

  const p0 = oracle.predict(x, 1);
  const classes = oracle.classes;
  const original = argmax(p0, 0, classes);
  checkTarget(target, classes);
  const outcome = { method: 'gradient', x, originalLabel: original, target, startedAt };
  if (target === original) return counterfactualOf({ ...outcome, image: x.slice(), probabilities: p0, iterations: 0 });
  const cls = target === 'any' ? original : target;
  const sign = target === 'any' ? 1 : -1; // loss = relu(sign·(z_cls − best other) + κ)

  // First grid: λ0·10^-2 … λ0·10^2.
  const lambda0 = opts.lambda ?? o.lambda.default;
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
      const res = yield* optimiseRound(scores, { x0, original: x, cls, hot, lambdas: lam, sign, kappa, beta, lr, steps: perRound, signal: opts.signal });
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
        return counterfactualOf({
          ...outcome, image: candidates[i].image, probabilities: p.slice(i * classes, (i + 1) * classes), iterations, extra: { lambda: candidates[i].lambda, lanes: P },
        });
      }
    }
  }
  return counterfactualOf({ ...outcome, image: last, probabilities: oracle.predict(last, 1), iterations, extra: { lanes: P } });
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

interface RoundOptions {
  /** The input, [1, h, w, c] and as values, and the class the margin is about, also as a one-hot row. */
  x0: tf.Tensor4D;
  original: Float32Array;
  cls: number;
  hot: tf.Tensor2D;
  /** λ of each lane. */
  lambdas: number[];
  /** +1: push the class down ('any'); −1: pull it up (a chosen target). */
  sign: number;
  kappa: number;
  beta: number;
  lr: number;
  steps: number;
  signal: AbortSignal | undefined;
}

/** One optimiser step's work: the lanes' current points and what their loss needs (see laneGradient). */
export interface LaneStep {
  /** [P, h, w, c]: each lane's point. */
  adv: tf.Tensor4D;
  /** [P, h, w, c]: the input, once per lane. */
  X: tf.Tensor4D;
  /** [P, 1, 1, 1]: each lane's λ. */
  lam: tf.Tensor4D;
  hot: tf.Tensor2D;
  sign: number;
  kappa: number;
  /** What a second thread needs to rebuild X, lam and hot. */
  original: Float32Array;
  lambdas: number[];
  cls: number;
}

/** The gradient of the lanes' summed loss at their points, and per lane [−gap, ‖δ‖², ‖δ‖₁] there. */
export interface LaneGradient {
  g: tf.Tensor4D;
  stats: tf.Tensor2D;
}

/** Per lane: the hinge's argument (target's deficit, > −κ while the hinge is active), ‖δ‖², ‖δ‖₁. */
function laneParts(scores: ScoreFn, a: tf.Tensor4D, X: tf.Tensor4D, hot: tf.Tensor2D, sign: number) {
  const z = scores(a);
  const zc = tf.sum(tf.mul(z, hot), 1);
  const other = tf.max(tf.sub(z, tf.mul(hot, 1e9)), 1);
  const gap = tf.mul(tf.sub(zc, other), sign);
  const delta = tf.sub(a, X);
  return { gap, d2: tf.sum(tf.square(delta), [1, 2, 3]), d1: tf.sum(tf.abs(delta), [1, 2, 3]) };
}

const statsOf = (p: ReturnType<typeof laneParts>) => tf.stack([tf.neg(p.gap), p.d2, p.d1], 1) as tf.Tensor2D;

/**
 * ∇ of Σ_lanes relu(gap + κ) + λ‖δ‖² at the lanes' points, with the stats of those points. Each lane's gradient
 * depends on its own point only, so any split of the lanes computes the same gradients (either engine thread).
 */
export function laneGradient(scores: ScoreFn, { adv, X, lam, hot, sign, kappa }: Pick<LaneStep, 'adv' | 'X' | 'lam' | 'hot' | 'sign' | 'kappa'>): LaneGradient {
  const P = adv.shape[0];
  // The stats of the point the gradient is taken at leave the gradient's scope through tf.keep.
  let seen: tf.Tensor2D | undefined;
  try {
    const g = tf.grad((a: tf.Tensor): tf.Scalar => {
      const p = laneParts(scores, a as tf.Tensor4D, X, hot, sign);
      seen = tf.keep(statsOf(p));
      return tf.sum(tf.add(tf.relu(tf.add(p.gap, kappa)), tf.mul(tf.reshape(lam, [P]), p.d2)));
    })(adv) as tf.Tensor4D;
    const stats = seen!;
    seen = undefined;
    return { g, stats };
  } finally {
    (seen as tf.Tensor2D | undefined)?.dispose();
  }
}

/** laneGradient with the second half of the lanes on `peer` at the same time; all of it here if the peer cannot. */
async function splitLaneGradient(scores: ScoreFn, step: LaneStep, peer: GradientPeer): Promise<LaneGradient> {
  const P = step.adv.shape[0];
  if (P < 2 || !peer.available()) return laneGradient(scores, step);
  const nB = P >> 1;
  const nA = P - nB;
  // Only the tensors go through tidy: it walks whatever it returns element by element, and the step carries the
  // original image as a Float32Array (150,528 values at 224×224×3: ~2 s over a 40-step search).
  const lanes = (from: number, n: number): LaneStep => {
    const [adv, X, lam] = tf.tidy(() => [step.adv, step.X, step.lam].map((t) => tf.slice(t, [from, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D));
    return { ...step, adv, X, lam };
  };
  const parts: LaneGradient[] = [];
  const a = lanes(0, nA);
  const b = lanes(nA, nB);
  try {
    const remote = peer.laneGradient({
      lanes: new Float32Array(b.adv.dataSync()), n: nB, lambdas: Float32Array.from(step.lambdas.slice(nA)), original: step.original.slice(),
      cls: step.cls, sign: step.sign, kappa: step.kappa,
    });
    remote.catch(() => undefined); // awaited below; this keeps a failure unhandled-free if this thread throws first
    parts.push(laneGradient(scores, a));
    let got: { grads: Float32Array; stats: Float32Array } | undefined;
    try {
      got = await remote;
    } catch {
      // The other thread failed; it reports unavailable from now on.
    }
    parts.push(got ? { g: tf.tensor4d(got.grads, b.adv.shape), stats: tf.tensor2d(got.stats, [nB, 3]) } : laneGradient(scores, b));
    return { g: tf.concat(parts.map((p) => p.g)) as tf.Tensor4D, stats: tf.concat(parts.map((p) => p.stats)) as tf.Tensor2D };
  } finally {
    tf.dispose([a.adv, a.X, a.lam, b.adv, b.X, b.lam, ...parts.flatMap((p) => [p.g, p.stats])]);
  }
}

function* optimiseRound(
  scores: ScoreFn,
  { x0, original, cls, hot, lambdas, sign, kappa, beta, lr, steps, signal }: RoundOptions,
): Generator<LaneStep, RoundResult, LaneGradient> {
  const P = lambdas.length;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const lam = tf.tensor4d(lambdas, [P, 1, 1, 1]);
  const X = tf.tile(x0, [P, 1, 1, 1]);
  let adv = X.clone();
  let m = tf.zerosLike(X);
  let v = tf.zerosLike(X);
  let best = X.clone();
  const bestDist = new Float64Array(P).fill(Infinity);

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
      const { g, stats } = yield { adv, X, lam, hot, sign, kappa, original, lambdas, cls };
      try {
        track(stats);
      } finally {
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
    const stats = tf.tidy(() => statsOf(laneParts(scores, adv, X, hot, sign)));
    track(stats);
    stats.dispose();
    const bestData = best.dataSync() as Float32Array;
    const lastData = adv.dataSync() as Float32Array;
    return { best: Float32Array.from(bestData), bestDist, last: Float32Array.from(lastData) };
  } finally {
    for (const t of [lam, X, adv, m, v, best]) t.dispose();
  }
}
