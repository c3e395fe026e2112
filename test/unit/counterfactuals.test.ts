import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { SeededRandom } from '../../src/engine/data/random';
import type { Counterfactual } from '../../src/engine/explain/counterfactuals/types';
import { gradientCounterfactual } from '../../src/engine/explain/counterfactuals/gradient';
import { BlockGrid, growingSpheres, sampleLayer } from '../../src/engine/explain/counterfactuals/growingSpheres';
import type { ImageShape, ProbFn, ScoreFn } from '../../src/engine/explain/types';
import { isXaiLensError } from '../../src/engine/errors';

// The closed-form checks use a thorough search; the defaults trade some distance for speed (about 1 s per digit).
const THOROUGH_GS = { samplesPerLayer: 256, refineIterations: 10, sparsifyRounds: 4 };
const THOROUGH_GRADIENT = { maxIterations: 300, searchSteps: 3, parallel: 8, lr: 0.02 };

const shape: ImageShape = [4, 4, 1];
const d = 16;

function noLeak<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const out = f();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function checkResult(cf: Counterfactual, x: Float32Array): void {
  assert.equal(cf.image.length, x.length);
  assert.ok(cf.image.every((v) => v >= 0 && v <= 1), 'pixel range');
  assert.ok(cf.diff.every((v, i) => Math.abs(v - (cf.image[i] - x[i])) < 1e-7), 'diff');
  assert.ok(Math.abs(cf.l2 - norm(cf.diff)) < 1e-5, 'l2');
  assert.equal(cf.l0, cf.diff.filter((v) => Math.abs(v) > 1e-6).length);
}

/** Pixels the linear model ignores (like an MNIST model's far background). */
const ignored = (i: number) => i % 3 === 2;

/**
 * Linear two-class model: logits [s, −s], s = w·x + b, with w and x chosen so that x is class 0 at L2 distance
 * exactly `dist` from the boundary and the foot of the perpendicular lies well inside [0, 1]^16.
 */
function linearModel(dist: number) {
  const rng = new SeededRandom(5);
  const w = Float32Array.from({ length: d }, (_, i) => (ignored(i) ? 0 : 3 * rng.uniform(-1, 1)));
  const x = Float32Array.from({ length: d }, () => rng.uniform(0.3, 0.7));
  const wn = norm(w);
  const b = dist * wn - w.reduce((s, wi, i) => s + wi * x[i], 0);
  const wt = tf.tensor2d(w, [d, 1]);
  const scores: ScoreFn = (img) =>
    tf.tidy(() => {
      const s = tf.add(tf.matMul(tf.reshape(img, [-1, d]), wt), b);
      return tf.concat([s, tf.neg(s)], 1) as tf.Tensor2D;
    });
  const probs: ProbFn = (img) => tf.tidy(() => tf.softmax(scores(img)));
  return { x, scores, probs, dispose: () => wt.dispose() };
}

/** A fixed-weight 16 → 12 (tanh) → 3 MLP. */
function mlp() {
  const w1 = tf.randomNormal([d, 12], 0, 1, 'float32', 21);
  const b1 = tf.randomNormal([12], 0, 0.5, 'float32', 22);
  const w2 = tf.randomNormal([12, 3], 0, 1.5, 'float32', 23);
  const scores: ScoreFn = (img) =>
    tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(tf.reshape(img, [-1, d]), w1), b1)), w2) as tf.Tensor2D);
  const probs: ProbFn = (img) => tf.tidy(() => tf.softmax(scores(img)));
  return { scores, probs, dispose: () => [w1, b1, w2].forEach((t) => t.dispose()) };
}

function predict(probs: ProbFn, img: Float32Array): number {
  const t = tf.tidy(() => tf.argMax(probs(tf.tensor4d(img, [1, ...shape])), 1));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

function randomImage(seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: d }, () => rng.next());
}

describe('counterfactuals', () => {
  const D = 0.4;
  let lin: ReturnType<typeof linearModel>;
  let net: ReturnType<typeof mlp>;

  before(async () => {
    await initBackend('wasm');
    lin = linearModel(D);
    net = mlp();
  });
  after(() => {
    lin.dispose();
    net.dispose();
  });

  it('samples uniformly in a spherical layer, even in 784 dimensions', () => {
    const rng = new SeededRandom(1);
    const centre = new Float32Array(784).fill(0.5);
    const pts = sampleLayer(centre, 200, 2, 3, rng);
    const radii = Array.from({ length: 200 }, (_, i) => norm(pts.subarray(i * 784, (i + 1) * 784).map((v) => v - 0.5)));
    assert.ok(radii.every((r) => r >= 2 - 1e-4 && r <= 3 + 1e-4), `${Math.min(...radii)} ${Math.max(...radii)}`);
    // Uniform in volume puts almost all of a 784-dimensional layer at its outer edge.
    assert.ok(radii.filter((r) => r > 2.97).length > 180);
    // 16 dimensions: P(r ≤ ρ) = (ρ^16 − 1)/(2^16 − 1) for the layer 1 … 2.
    const c16 = new Float32Array(16).fill(0.5);
    const p16 = sampleLayer(c16, 2000, 0.1, 0.2, rng);
    const r16 = Array.from({ length: 2000 }, (_, i) => norm(p16.subarray(i * 16, (i + 1) * 16).map((v) => v - 0.5)));
    const below = r16.filter((r) => r <= 0.19).length / 2000;
    const expected = (1.9 ** 16 - 1) / (2 ** 16 - 1);
    assert.ok(Math.abs(below - expected) < 0.03, `${below} vs ${expected}`);
  });

  it('growing spheres finds the linear boundary within 5 % and then makes the change sparser', () => {
    assert.equal(predict(lin.probs, lin.x), 0);
    const cf = noLeak(() => growingSpheres(lin.probs, lin.x, shape, { seed: 3, ...THOROUGH_GS }));
    checkResult(cf, lin.x);
    assert.ok(cf.found);
    assert.equal(cf.label, 1);
    assert.equal(cf.originalLabel, 0);
    assert.equal(predict(lin.probs, cf.image), 1);
    const before = cf.l2BeforeSparsification ?? NaN;
    assert.ok(before >= D * 0.999 && before <= D * 1.05, `before sparsification ${before} vs ${D}`);
    assert.ok((cf.l2FirstEnemy ?? NaN) >= D * 0.999, `first enemy ${cf.l2FirstEnemy}`);
    // Putting coordinates back only shortens the change, and no enemy is closer than the boundary.
    assert.ok(cf.l2 >= D * 0.999 && cf.l2 <= before + 1e-6, `${cf.l2}`);
    assert.ok(cf.l0 < (cf.l0BeforeSparsification ?? 0), `l0 ${cf.l0} vs ${cf.l0BeforeSparsification}`);
    // The refined enemy carries sampling noise on pixels the model ignores; sparsification puts all of it back.
    assert.ok(cf.diff.every((v, i) => !ignored(i) || v === 0), `${Array.from(cf.diff)}`);
    assert.ok(cf.iterations > 0 && cf.ms >= 0);
    assert.deepEqual(growingSpheres(lin.probs, lin.x, shape, { seed: 3, ...THOROUGH_GS }).image, cf.image, 'seeded');
  });

  it('plain growing spheres (no refinement) lands beyond the boundary, as the paper\'s sampling does', () => {
    const cf = noLeak(() => growingSpheres(lin.probs, lin.x, shape, { seed: 4, refineIterations: 0, sparsifyRounds: -1 }));
    assert.ok(cf.found && cf.label === 1);
    assert.ok(cf.l2 >= D * 0.999 && cf.l2 < 3 * D, `${cf.l2}`);
    assert.ok(Math.abs(cf.l2 - (cf.l2FirstEnemy ?? NaN)) < 1e-6);
    assert.equal(cf.l0, 16);
    // The paper's feature selection alone: still an enemy, sparser, and closer.
    const sparse = noLeak(() => growingSpheres(lin.probs, lin.x, shape, { seed: 4, refineIterations: 0, sparsifyRounds: 0 }));
    assert.ok(sparse.found && sparse.label === 1 && sparse.l0 < 16 && sparse.l2 <= cf.l2, `${sparse.l0} ${sparse.l2}`);
  });

  it('growing spheres reaches each class of a nonlinear model', () => {
    const x = randomImage(8);
    const c0 = predict(net.probs, x);
    for (const target of [0, 1, 2].filter((k) => k !== c0)) {
      const cf = noLeak(() => growingSpheres(net.probs, x, shape, { target, seed: target }));
      checkResult(cf, x);
      assert.ok(cf.found, `target ${target}`);
      assert.equal(cf.label, target);
      assert.equal(predict(net.probs, cf.image), target);
    }
    const any = growingSpheres(net.probs, x, shape, { seed: 9 });
    assert.ok(any.found && any.label !== c0);
  });

  it('the gradient counterfactual flips the linear model close to the true distance, in range', () => {
    const cf = noLeak(() => gradientCounterfactual(lin.scores, lin.probs, lin.x, shape, THOROUGH_GRADIENT));
    checkResult(cf, lin.x);
    assert.ok(cf.found);
    assert.equal(cf.label, 1);
    assert.equal(predict(lin.probs, cf.image), 1);
    assert.ok(cf.l2 >= D * 0.999 && cf.l2 <= D * 1.2, `l2 ${cf.l2} vs ${D}`);
    // Without the L1 term it is the plain Wachter/C&W answer: the perpendicular foot, up to the margin.
    const l2only = gradientCounterfactual(lin.scores, lin.probs, lin.x, shape, { ...THOROUGH_GRADIENT, l1: 0 });
    assert.ok(l2only.found && l2only.l2 <= D * 1.05, `l2-only ${l2only.l2}`);
    assert.ok(cf.l1 <= l2only.l1 + 1e-6, `L1 term lowers L1: ${cf.l1} vs ${l2only.l1}`);
  });

  it('the gradient counterfactual reaches a chosen class of a nonlinear model', () => {
    const x = randomImage(8);
    const c0 = predict(net.probs, x);
    for (const target of [0, 1, 2].filter((k) => k !== c0)) {
      const cf = noLeak(() => gradientCounterfactual(net.scores, net.probs, x, shape, { target }));
      checkResult(cf, x);
      assert.ok(cf.found, `target ${target}`);
      assert.equal(cf.label, target);
      assert.equal(cf.target, target);
      assert.equal(predict(net.probs, cf.image), target);
    }
    const any = gradientCounterfactual(net.scores, net.probs, x, shape);
    assert.ok(any.found && any.label !== c0);
  });

  it('contrastive: a misclassified input\'s counterfactual towards its true label is read as that label', () => {
    // Ground truth: the brightest of three bands of pixels. The untrained MLP disagrees on many inputs.
    const truth = (img: Float32Array) => {
      const sums = [0, 0, 0];
      img.forEach((v, i) => (sums[i % 3] += v));
      return sums.indexOf(Math.max(...sums));
    };
    let seed = 100;
    let x = randomImage(seed);
    while (predict(net.probs, x) === truth(x)) x = randomImage(++seed);
    const trueLabel = truth(x);
    const g = noLeak(() => gradientCounterfactual(net.scores, net.probs, x, shape, { target: trueLabel }));
    assert.ok(g.found && g.label === trueLabel && g.originalLabel !== trueLabel);
    const s = noLeak(() => growingSpheres(net.probs, x, shape, { target: trueLabel, seed: 1 }));
    assert.ok(s.found && s.label === trueLabel);
    // Asking for the class it already has changes nothing.
    const same = gradientCounterfactual(net.scores, net.probs, x, shape, { target: g.originalLabel });
    assert.ok(same.found && same.l0 === 0 && same.iterations === 0);
  });

  it('a block grid maps changes to pixels with known cells and areas, and accumulate is apply\'s adjoint', () => {
    const g = new BlockGrid([5, 7, 2], 3);
    assert.equal(g.dim, 2 * 3 * 2);
    // Pixel (4, 6), channel 1 lies in cell (1, 2): rows 3–4 × column 6, two pixels.
    assert.equal(g.cellOf[(4 * 7 + 6) * 2 + 1], (1 * 3 + 2) * 2 + 1);
    assert.deepEqual(Array.from(g.area), [9, 9, 9, 9, 3, 3, 6, 6, 6, 6, 2, 2]);
    assert.deepEqual([BlockGrid.forImage([224, 224, 3], 32).block, BlockGrid.forImage([224, 224, 3], 32).dim], [7, 3072]);
    assert.equal(BlockGrid.forImage([28, 28, 1], 32).block, 1);
    const rng = new SeededRandom(2);
    const base = new Float32Array(70).fill(0.5);
    const change = Float32Array.from({ length: g.dim }, () => rng.uniform(-0.1, 0.1));
    const img = new Float32Array(70);
    g.apply(base, 1, change, img, 0);
    assert.ok(Math.abs(g.imageNorm(change) - norm(img.map((v, i) => v - base[i]))) < 1e-5);
    const v = Float32Array.from({ length: 70 }, () => rng.uniform(-1, 1));
    const acc = new Float64Array(g.dim);
    g.accumulate(acc, 1, Float32Array.from(v, (vi, i) => base[i] + vi), 0, base);
    const lhs = img.reduce((sum, p, i) => sum + (p - base[i]) * v[i], 0);
    const rhs = acc.reduce((sum, a, i) => sum + a * change[i], 0);
    assert.ok(Math.abs(lhs - rhs) < 1e-4, `${lhs} vs ${rhs}`);
  });

  it('growing spheres searches a 64×64 image on 2×2 blocks and still meets a linear boundary', () => {
    // A linear model whose weights are constant on 2×2 blocks, so the block grid holds the shortest change; run
    // through the flat path (no tensors) that native forward passes take.
    const side = 64;
    const size = side * side;
    const rng = new SeededRandom(8);
    const cells = Float32Array.from({ length: size / 4 }, () => rng.uniform(-1, 1));
    const w = Float32Array.from({ length: size }, (_, i) => cells[(Math.floor(Math.floor(i / side) / 2) * side) / 2 + Math.floor((i % side) / 2)]);
    const x = Float32Array.from({ length: size }, () => rng.uniform(0.3, 0.7));
    const dist = 0.5;
    const b = dist * norm(w) - w.reduce((a, wi, i) => a + wi * x[i], 0);
    let images = 0;
    const flatProbabilities = (data: Float32Array, n: number) => {
      images += n;
      const out = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        let sc = b;
        for (let k = 0; k < size; k++) sc += w[k] * data[i * size + k];
        const p0 = 1 / (1 + Math.exp(-2 * sc));
        out.set([p0, 1 - p0], 2 * i);
      }
      return out;
    };
    const source = { probabilities: (): never => assert.fail('the flat path is used'), flatProbabilities };
    const cf = growingSpheres(source, x, [side, side, 1], { seed: 2, samplesPerLayer: 128, refineIterations: 10 });
    checkResult(cf, x);
    assert.ok(cf.found && cf.label === 1, `label ${cf.label}`);
    assert.equal(cf.searchBlock, 2);
    // In 1,024 dimensions the first enemy lies far out (≈ 16× here) and ten refinement steps close most of the gap;
    // searched pixel by pixel (4,096 dimensions) the same budget ends further away.
    assert.ok(cf.l2 >= dist * (1 - 1e-3) && cf.l2 < 5 * dist, `l2 ${cf.l2} vs ${dist}`);
    const pixels = growingSpheres(source, x, [side, side, 1], { seed: 2, samplesPerLayer: 128, refineIterations: 10, searchSide: side });
    assert.equal(pixels.searchBlock, 1);
    assert.ok(pixels.found && pixels.l2 > 1.1 * cf.l2, `pixel by pixel ${pixels.l2} vs blocks ${cf.l2}`);
    assert.ok(images > 0);
  });

  it('growing spheres stops its layer search at maxEvaluations images', () => {
    let images = 0;
    const constant: ProbFn = (img) => {
      images += img.shape[0];
      return tf.tidy(() => tf.tile(tf.tensor2d([[0.9, 0.1]]), [img.shape[0], 1]) as tf.Tensor2D);
    };
    const cf = noLeak(() => growingSpheres(constant, lin.x, shape, { samplesPerLayer: 16, maxEvaluations: 100 }));
    assert.ok(!cf.found);
    assert.ok(images <= 100 && images > 64, `${images} images`);
  });

  it('reports found: false with the input unchanged when no enemy exists', () => {
    const constant: ProbFn = (img) => tf.tidy(() => tf.tile(tf.tensor2d([[0.9, 0.1]]), [img.shape[0], 1]) as tf.Tensor2D);
    const cf = noLeak(() => growingSpheres(constant, lin.x, shape, { maxIterations: 6, samplesPerLayer: 16 }));
    assert.ok(!cf.found && cf.l0 === 0 && cf.label === 0);
    const flat: ScoreFn = (img) => tf.tidy(() => tf.tile(tf.tensor2d([[2, 0]]), [img.shape[0], 1]) as tf.Tensor2D);
    const g = noLeak(() => gradientCounterfactual(flat, constant, lin.x, shape, { maxIterations: 30 }));
    assert.ok(!g.found && g.image.every((v) => v >= 0 && v <= 1));
  });

  it('rejects bad targets and an aborted signal with XaiLensError, leaking nothing', () => {
    assert.throws(() => growingSpheres(lin.probs, lin.x, shape, { target: 2 }), isXaiLensError);
    assert.throws(() => gradientCounterfactual(lin.scores, lin.probs, lin.x, shape, { target: -1 }), isXaiLensError);
    const ac = new AbortController();
    ac.abort();
    const cancelled = (e: unknown) => isXaiLensError(e) && e.message === 'cancelled';
    noLeak(() => assert.throws(() => growingSpheres(lin.probs, lin.x, shape, { signal: ac.signal }), cancelled));
    noLeak(() =>
      assert.throws(() => gradientCounterfactual(lin.scores, lin.probs, lin.x, shape, { signal: ac.signal }), cancelled),
    );
    // Aborted mid-way (here by the model itself, standing in for a caller's abort between batches).
    const late = new AbortController();
    let calls = 0;
    const aborting: ProbFn = (img) => {
      if (++calls === 3) late.abort();
      return lin.probs(img);
    };
    noLeak(() => assert.throws(() => growingSpheres(aborting, lin.x, shape, { signal: late.signal }), cancelled));
    const late2 = new AbortController();
    let steps = 0;
    const abortingScores: ScoreFn = (img) => {
      if (++steps === 5) late2.abort();
      return lin.scores(img);
    };
    noLeak(() =>
      assert.throws(() => gradientCounterfactual(abortingScores, lin.probs, lin.x, shape, { signal: late2.signal }), cancelled),
    );
  });
});
