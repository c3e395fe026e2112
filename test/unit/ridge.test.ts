import * as assert from 'node:assert/strict';
import { SeededRandom } from '../../src/engine/data/random';
import { weightedRidge } from '../../src/engine/explain/ridge';

/** n random rows of d features: binary masks (LIME-like) or gaussian reals. */
function design(n: number, d: number, seed: number, binary: boolean): Float32Array {
  const r = new SeededRandom(seed);
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = binary ? (r.next() < 0.5 ? 1 : 0) : r.gaussian();
  return X;
}

function linear(X: Float32Array, coef: number[], intercept: number): Float64Array {
  const d = coef.length;
  const n = X.length / d;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = intercept;
    for (let j = 0; j < d; j++) s += X[i * d + j] * coef[j];
    y[i] = s;
  }
  return y;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

describe('weightedRidge', () => {
  const coef = [2, -1, 0.5, 0, 3];
  const intercept = 0.7;

  it('recovers known coefficients from noiseless data (binary and real features), R² = 1', () => {
    for (const binary of [true, false]) {
      const X = design(200, coef.length, 1, binary);
      const y = linear(X, coef, intercept);
      const w = new Float64Array(200).fill(1);
      const fit = weightedRidge(X, y, w, 1e-10);
      assertClose(fit.coef, coef, 1e-7);
      assert.ok(Math.abs(fit.intercept - intercept) < 1e-7, `intercept ${fit.intercept}`);
      assert.ok(Math.abs(fit.r2 - 1) < 1e-12, `r2 ${fit.r2}`);
    }
  });

  it('honours weights: a zero-weight outlier changes nothing, a weighted one pulls the fit', () => {
    const n = 100;
    const X = design(n, coef.length, 2, true);
    const y = linear(X, coef, intercept);
    const w = new Float64Array(n).fill(1);
    w[7] = 0;
    const clean = weightedRidge(X, y, w, 0.1);
    const yOut = y.slice();
    yOut[7] += 100;
    const ignored = weightedRidge(X, yOut, w, 0.1);
    assertClose(ignored.coef, clean.coef, 1e-10);
    assert.ok(Math.abs(ignored.intercept - clean.intercept) < 1e-10);
    assert.ok(Math.abs(ignored.r2 - clean.r2) < 1e-12);
    w[7] = 1;
    const pulled = weightedRidge(X, yOut, w, 0.1);
    assert.ok(pulled.r2 < 0.9, `r2 with outlier ${pulled.r2}`);
  });

  it('treats a weight of 2 like a duplicated row', () => {
    const r = new SeededRandom(3);
    const n = 30;
    const d = 3;
    const X = design(n, d, 4, false);
    const y = Float64Array.from({ length: n }, () => r.gaussian());
    const w = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 2 : 1));
    const Xdup = new Float32Array((n + 1) * d);
    Xdup.set(X);
    Xdup.set(X.subarray(0, d), n * d);
    const ydup = Float64Array.from([...y, y[0]]);
    const a = weightedRidge(X, y, w, 0.5);
    const b = weightedRidge(Xdup, ydup, new Float64Array(n + 1).fill(1), 0.5);
    assertClose(a.coef, b.coef, 1e-10);
    assert.ok(Math.abs(a.intercept - b.intercept) < 1e-10);
  });

  it('shrinks coefficients towards 0 (not the intercept) as lambda grows', () => {
    const X = design(100, coef.length, 5, true);
    const y = linear(X, coef, intercept);
    const w = new Float64Array(100).fill(1);
    const norm = (c: Float64Array) => Math.hypot(...c);
    const small = weightedRidge(X, y, w, 0.01);
    const mid = weightedRidge(X, y, w, 10);
    const huge = weightedRidge(X, y, w, 1e9);
    assert.ok(norm(small.coef) > norm(mid.coef) && norm(mid.coef) > norm(huge.coef));
    assert.ok(norm(huge.coef) < 1e-6);
    // With β ≈ 0 the unpenalized intercept is the (weighted) mean of y.
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    assert.ok(Math.abs(huge.intercept - mean) < 1e-5, `${huge.intercept} vs ${mean}`);
    assert.ok(huge.r2 < 1e-6 && huge.r2 > -1e-6);
  });

  it('handles constant features and constant targets with lambda > 0', () => {
    const X = new Float32Array([1, 0, 1, 1, 1, 0, 1, 1]); // column 0 is always 1
    const w = new Float64Array(4).fill(1);
    const fit = weightedRidge(X, new Float64Array([3, 3, 3, 3]), w, 1);
    assertClose(fit.coef, [0, 0], 1e-12);
    assert.ok(Math.abs(fit.intercept - 3) < 1e-12);
    assert.equal(fit.r2, 1);
    assert.throws(() => weightedRidge(X, new Float64Array([1, 2, 3, 4]), w, 0), /singular/);
  });

  it('validates shapes and values with clear errors', () => {
    const X = new Float32Array(6);
    const w = new Float64Array(3).fill(1);
    const four = new Float64Array(4);
    assert.throws(() => weightedRidge(X, four, four, 1), /not a multiple of the 4 samples/);
    assert.throws(() => weightedRidge(X, new Float64Array(3), new Float64Array(2), 1), /3 targets but 2 weights/);
    assert.throws(() => weightedRidge(X, new Float64Array(3), w, -1), /lambda must be ≥ 0, got -1/);
    assert.throws(() => weightedRidge(X, new Float64Array(3), new Float64Array(3), 1), /all weights are zero/);
    assert.throws(() => weightedRidge(X, new Float64Array(3), Float64Array.from([1, -1, 1]), 1), /weight 1 is -1/);
    assert.throws(() => weightedRidge(X, Float64Array.from([0, NaN, 0]), w, 1), /target 1 is NaN/);
    assert.throws(() => weightedRidge(new Float32Array(0), new Float64Array(0), new Float64Array(0), 1), /no samples/);
  });

  it('fits a LIME-sized problem (n = 1000, d = 50) quickly', () => {
    const n = 1000;
    const d = 50;
    const X = design(n, d, 6, true);
    const r = new SeededRandom(7);
    const y = Float32Array.from({ length: n }, () => r.next());
    const w = Float32Array.from({ length: n }, () => r.next());
    weightedRidge(X, y, w, 1);
    const t = performance.now();
    const fit = weightedRidge(X, y, w, 1);
    const ms = performance.now() - t;
    assert.equal(fit.coef.length, d);
    assert.ok(ms < 100, `${ms} ms`);
  });
});
