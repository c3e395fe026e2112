import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import {
  baselineImage,
  deletionInsertion,
  faithfulness,
  randomOrder,
} from '../../src/engine/explain/deletion';
import type { ImageShape, ProbFn } from '../../src/engine/explain/types';
import { isXaiLensError } from '../../src/engine/errors';

const shape: ImageShape = [8, 8, 1];
const n = 64;

/** Class 0's probability is sigmoid(4·(x0 + x1 + x2 + x3) − 8): only the first four pixels matter, monotonically. */
const firstFour: ProbFn = (x) =>
  tf.tidy(() => {
    const s = tf.sum(tf.slice(tf.reshape(x, [-1, n]), [0, 0], [-1, 4]), 1, true);
    const p = tf.sigmoid(tf.sub(tf.mul(s, 4), 8));
    return tf.concat([p, tf.sub(1, p)], 1) as tf.Tensor2D;
  });

function pOf(img: Float32Array): number {
  const t = tf.tidy(() => firstFour(tf.tensor4d(img, [1, ...shape])));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** A bright image with some texture, so 'mean' and 'blur' baselines differ from it. */
function image(): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.6 + 0.4 * ((i * 7) % 5 === 0 ? 1 : (i % 3) / 3));
}

function rightOrder(): Int32Array {
  const rest = Array.from({ length: n - 4 }, (_, i) => i + 4).reverse();
  return Int32Array.from([0, 1, 2, 3, ...rest]);
}

function noLeak<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const out = f();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

describe('deletion / insertion', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('curves have steps + 1 points that start and end at the model on x and on the baseline', () => {
    const x = image();
    for (const baseline of ['zero', 'mean', 'blur'] as const) {
      const r = noLeak(() => deletionInsertion(firstFour, x, shape, rightOrder(), 0, { steps: 10, baseline, batchSize: 7 }));
      assert.equal(r.deletion.length, 11);
      assert.equal(r.insertion.length, 11);
      assert.equal(r.fractions[0], 0);
      assert.equal(r.fractions[10], 1);
      const base = baselineImage(x, shape, baseline);
      assert.ok(Math.abs(r.deletion[0] - pOf(x)) < 1e-6, baseline);
      assert.ok(Math.abs(r.deletion[10] - pOf(base)) < 1e-6, baseline);
      assert.ok(Math.abs(r.insertion[0] - pOf(base)) < 1e-6, baseline);
      assert.ok(Math.abs(r.insertion[10] - pOf(x)) < 1e-6, baseline);
    }
  });

  it('the right order deletes faster and inserts faster than random orders', () => {
    const x = image();
    const right = noLeak(() => deletionInsertion(firstFour, x, shape, rightOrder(), 0));
    assert.equal(right.deletion.length, 29);
    // After one step (3 of 64 pixels gone) the right order has already lost most of the evidence.
    assert.ok(right.deletion[1] < 0.5 * right.deletion[0], `${right.deletion[1]}`);
    for (let seed = 1; seed <= 5; seed++) {
      const rnd = deletionInsertion(firstFour, x, shape, randomOrder(n, seed), 0);
      assert.ok(right.deletionAuc < rnd.deletionAuc, `deletion ${right.deletionAuc} vs ${rnd.deletionAuc}`);
      assert.ok(right.insertionAuc > rnd.insertionAuc, `insertion ${right.insertionAuc} vs ${rnd.insertionAuc}`);
    }
    assert.ok(right.deletionAuc < 0.1 && right.insertionAuc > 0.85, `${right.deletionAuc} ${right.insertionAuc}`);
  });

  it('the AUC of a constant curve is that constant', () => {
    const constant: ProbFn = (x) => tf.tidy(() => tf.tile(tf.tensor2d([[0.3, 0.7]]), [x.shape[0], 1]) as tf.Tensor2D);
    const r = noLeak(() => deletionInsertion(constant, image(), shape, randomOrder(n, 3), 1, { steps: 13 }));
    assert.ok(Math.abs(r.deletionAuc - 0.7) < 1e-6 && Math.abs(r.insertionAuc - 0.7) < 1e-6);
  });

  it('faithfulness ranks a good heatmap above chance and a reversed one below', () => {
    const x = image();
    const good = Float32Array.from({ length: n }, (_, i) => (i < 4 ? 1 : 0));
    const f = noLeak(() => faithfulness(firstFour, x, shape, good, 0, { randomTrials: 5, seed: 11 }));
    assert.ok(f.deletionAuc < f.randomDeletionAuc, JSON.stringify(f));
    assert.ok(f.insertionAuc > f.randomInsertionAuc, JSON.stringify(f));
    const bad = faithfulness(firstFour, x, shape, Float32Array.from(good, (v) => -v), 0, { seed: 11 });
    assert.ok(bad.deletionAuc > bad.randomDeletionAuc && bad.insertionAuc < bad.randomInsertionAuc, JSON.stringify(bad));
    // Same seed, same chance level.
    assert.equal(bad.randomDeletionAuc, f.randomDeletionAuc);
  });

  it('random orders are seeded permutations', () => {
    const r = randomOrder(50, 4);
    assert.deepEqual(Array.from(r).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(r, randomOrder(50, 4));
    assert.notDeepEqual(r, randomOrder(50, 5));
  });

  it('baselines: mean is per channel, blur keeps a constant image constant', () => {
    const rgbShape: ImageShape = [3, 4, 3];
    const x = Float32Array.from({ length: 36 }, (_, i) => (i % 3) / 2);
    assert.ok(baselineImage(x, rgbShape, 'mean').every((v, i) => Math.abs(v - (i % 3) / 2) < 1e-6));
    assert.ok(baselineImage(x, rgbShape, 'blur', 1.5).every((v, i) => Math.abs(v - (i % 3) / 2) < 1e-6));
    assert.ok(baselineImage(x, rgbShape, 'zero').every((v) => v === 0));
  });

  it('rejects bad orders and honours an aborted signal', () => {
    const x = image();
    const bad = rightOrder();
    bad[5] = 0;
    assert.throws(() => deletionInsertion(firstFour, x, shape, bad, 0), isXaiLensError);
    assert.throws(() => deletionInsertion(firstFour, x, shape, rightOrder().slice(1), 0), isXaiLensError);
    const ac = new AbortController();
    ac.abort();
    noLeak(() =>
      assert.throws(
        () => deletionInsertion(firstFour, x, shape, rightOrder(), 0, { signal: ac.signal }),
        (e: unknown) => isXaiLensError(e) && /cancelled/.test(e.message),
      ),
    );
  });
});
