import * as assert from 'node:assert/strict';
import { Augmenter, elasticField, gaussianKernel, warpImage } from '../../src/engine/data/augment';
import { SeededRandom, mulberry32, permutation } from '../../src/engine/data/random';

/** A batch of n h×w×c images with a filled blob in the middle of each. */
function blobs(n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    for (let y = 8; y < h - 8; y++) {
      for (let x = 10; x < w - 9; x++) {
        for (let k = 0; k < c; k++) out[((i * h + y) * w + x) * c + k] = 0.5 + 0.5 * ((x + y + i + k) % 2);
      }
    }
  }
  return out;
}

function sum(a: Float32Array, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i];
  return s;
}

describe('random', () => {
  it('mulberry32 is deterministic and uniform-ish', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, mulberry32(43)));
  });

  it('gaussian has mean 0 and standard deviation 1', () => {
    const r = new SeededRandom(7);
    const g = Array.from({ length: 20000 }, () => r.gaussian());
    const mean = g.reduce((s, x) => s + x, 0) / g.length;
    const sd = Math.sqrt(g.reduce((s, x) => s + (x - mean) ** 2, 0) / g.length);
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `${mean} ${sd}`);
  });

  it('permutation is a seeded permutation', () => {
    const p = permutation(100, 3);
    assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(p, permutation(100, 3));
    assert.notDeepEqual(p, permutation(100, 4));
  });
});

describe('augmentation', () => {
  const [h, w, c] = [28, 28, 1];

  it('zero parameters are the identity and do not mutate the input', () => {
    const batch = blobs(4, h, w, c);
    const copy = batch.slice();
    for (const aug of [new Augmenter({}), new Augmenter({ rotationDeg: 0, translatePx: 0, elastic: { alpha: 0, sigma: 4 } })]) {
      const out = aug.apply(batch, 4, h, w, c);
      assert.notEqual(out, batch);
      assert.deepEqual(out, batch);
    }
    // The general warp path with an identity transform is exact too.
    const out = new Float32Array(batch.length);
    for (let i = 0; i < 4; i++) warpImage(batch, i * h * w, out, i * h * w, h, w, c, { angleRad: 0, dx: 0, dy: 0 });
    assert.deepEqual(out, batch);
    assert.deepEqual(batch, copy);
  });

  it('a whole-pixel translation moves a known pixel exactly', () => {
    const src = new Float32Array(h * w * 3);
    src.set([0.2, 0.6, 1], (10 * w + 12) * 3); // pixel (x 12, y 10)
    const dst = new Float32Array(src.length);
    warpImage(src, 0, dst, 0, h, w, 3, { angleRad: 0, dx: 3, dy: -2 });
    assert.deepEqual(Array.from(dst.subarray((8 * w + 15) * 3, (8 * w + 15) * 3 + 3)), [
      Math.fround(0.2), Math.fround(0.6), 1,
    ]);
    assert.equal(sum(dst), sum(src));
    // Content shifted off the edge is gone and zero fills in.
    const edge = new Float32Array(h * w).fill(1);
    const shifted = new Float32Array(h * w);
    warpImage(edge, 0, shifted, 0, h, w, 1, { angleRad: 0, dx: 5, dy: 0 });
    assert.equal(sum(shifted), (w - 5) * h);
    assert.equal(shifted[0], 0);
    assert.equal(shifted[5], 1);
  });

  it('rotation by 90° maps a pixel around the centre and preserves mass approximately', () => {
    const src = new Float32Array(h * w);
    src[5 * w + 20] = 1; // (x 20, y 5); centre 13.5
    const dst = new Float32Array(h * w);
    warpImage(src, 0, dst, 0, h, w, 1, { angleRad: Math.PI / 2, dx: 0, dy: 0 });
    // Content rotates by +90° in image coordinates: (dx, dy) = (6.5, -8.5) → (8.5, 6.5) → (x 22, y 20).
    assert.ok(Math.abs(dst[20 * w + 22] - 1) < 1e-6, `${dst[20 * w + 22]}`);

    const batch = blobs(16, h, w, c);
    const out = new Augmenter({ rotationDeg: 30, seed: 5 }).apply(batch, 16, h, w, c);
    const ratio = sum(out) / sum(batch);
    assert.ok(Math.abs(ratio - 1) < 0.03, `mass ratio ${ratio}`);
  });

  it('keeps outputs in [0, 1], is deterministic for a seed and differs between seeds', () => {
    const batch = blobs(32, h, w, 3);
    const opts = { rotationDeg: 15, translatePx: 3, elastic: { alpha: 34, sigma: 4 } };
    const a = new Augmenter({ ...opts, seed: 11 });
    const b = new Augmenter({ ...opts, seed: 11 });
    const first = a.apply(batch, 32, h, w, 3);
    assert.deepEqual(first, b.apply(batch, 32, h, w, 3));
    assert.deepEqual(a.apply(batch, 32, h, w, 3), b.apply(batch, 32, h, w, 3)); // second batches too
    assert.notDeepEqual(first, new Augmenter({ ...opts, seed: 12 }).apply(batch, 32, h, w, 3));
    assert.notDeepEqual(first, batch);
    for (const v of first) assert.ok(v >= 0 && v <= 1, `${v}`);
  });

  it('elastic fields are smooth, scaled by alpha, and applied with the given probability', () => {
    const k = gaussianKernel(4);
    assert.equal(k.length, 25);
    assert.ok(Math.abs(sum(k) - 1) < 1e-6);
    assert.equal(gaussianKernel(4), k); // cached
    const f = elasticField(h, w, 34, 4, new SeededRandom(1));
    let maxJump = 0;
    let maxAbs = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 1; x < w; x++) {
        const i = 2 * (y * w + x);
        maxJump = Math.max(maxJump, Math.abs(f[i] - f[i - 2]));
        maxAbs = Math.max(maxAbs, Math.abs(f[i]));
      }
    }
    assert.ok(maxAbs > 0.3 && maxAbs < 15, `max displacement ${maxAbs}`);
    assert.ok(maxJump < maxAbs / 2, `field not smooth: ${maxJump} vs ${maxAbs}`);

    const batch = blobs(64, h, w, c);
    const never = new Augmenter({ elastic: { alpha: 34, sigma: 4, probability: 0.0001 }, seed: 2 });
    const out = never.apply(batch, 64, h, w, c);
    let changed = 0;
    for (let i = 0; i < 64; i++) if (sum(out, i * h * w, (i + 1) * h * w) !== sum(batch, i * h * w, (i + 1) * h * w)) changed++;
    assert.ok(changed <= 1, `${changed} images changed`);
  });

  it('augments 128 images of 28×28 in a few milliseconds', function () {
    const batch = blobs(128, h, w, c);
    const aug = new Augmenter({ rotationDeg: 12, translatePx: 2, elastic: { alpha: 8, sigma: 3, probability: 0.3 }, seed: 1 });
    for (let i = 0; i < 5; i++) aug.apply(batch, 128, h, w, c); // warm up the JIT and the field pool
    const runs = 50;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) aug.apply(batch, 128, h, w, c);
    const ms = (performance.now() - t0) / runs;
    const full = new Augmenter({ rotationDeg: 12, translatePx: 2, elastic: { alpha: 34, sigma: 4 }, seed: 1 });
    for (let i = 0; i < 5; i++) full.apply(batch, 128, h, w, c);
    const t1 = performance.now();
    for (let i = 0; i < runs; i++) full.apply(batch, 128, h, w, c);
    const msFull = (performance.now() - t1) / runs;
    if (process.env.XAI_BENCH) console.log(`      augment 128×28×28: ${ms.toFixed(2)} ms (default), ${msFull.toFixed(2)} ms (elastic always)`);
    // Generous bound for a loaded 2-core CI machine; typical is ~1 ms.
    assert.ok(msFull < 40, `${msFull} ms per batch`);
  });

  it('rejects a batch shorter than n×h×w×c', () => {
    assert.throws(() => new Augmenter({ rotationDeg: 5 }).apply(new Float32Array(10), 1, h, w, c), RangeError);
  });
});
