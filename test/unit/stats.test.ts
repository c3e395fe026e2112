import * as assert from 'node:assert/strict';
import {
  averageRanks, clarity, norms, pearson, rankOrder, spearman, topK, trapezoidAuc,
} from '../../src/engine/explain/stats';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('stats', () => {
  describe('trapezoidAuc', () => {
    it('integrates lines exactly on the default [0, 1] grid and on given xs', () => {
      close(trapezoidAuc([0, 0.25, 0.5, 0.75, 1]), 0.5); // y = x
      close(trapezoidAuc([1, 0]), 0.5); // y = 1 − x
      close(trapezoidAuc([2, 2, 2]), 2);
      close(trapezoidAuc([0, 1, 3], [0, 1, 3]), 4.5); // y = x on [0, 3]
      close(trapezoidAuc([1, 1], [2, 0]), -2); // decreasing xs give a negative area
    });

    it('gives 0 for fewer than two points and checks lengths', () => {
      assert.equal(trapezoidAuc([]), 0);
      assert.equal(trapezoidAuc([5]), 0);
      assert.throws(() => trapezoidAuc([1, 2], [0]), /2 ys but 1 xs/);
    });
  });

  describe('spearman', () => {
    it('is ±1 for monotone relations, whatever the scale', () => {
      close(spearman([1, 2, 3, 4, 5], [10, 20, 30, 400, 5000]), 1);
      close(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]), -1);
      close(spearman(Float32Array.from([0.1, 0.3, 0.2]), [1, 9, 4]), 1);
    });

    it('uses average ranks for ties', () => {
      assert.deepEqual(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
      assert.deepEqual(Array.from(averageRanks([3, 3, 3])), [2, 2, 2]);
      // Ranks a = [1, 2.5, 2.5, 4], b = [1, 2, 3, 4]: Pearson of the ranks = 4.5 / √(4.5 · 5) = 3 / √10.
      close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 3 / Math.sqrt(10));
      // Known textbook value: d = [0, 0, 1, −1, 0] without ties: ρ = 1 − 6·2 / (5·24) = 0.9.
      close(spearman([1, 2, 3, 4, 5], [1, 2, 4, 3, 5]), 0.9);
    });

    it('is 0, never NaN, for constant inputs and too few values; skips NaN pairs', () => {
      assert.equal(spearman([1, 1, 1], [1, 2, 3]), 0);
      assert.equal(spearman([], []), 0);
      assert.equal(spearman([1], [2]), 0);
      close(spearman([1, NaN, 2, 3], [1, 7, 2, 3]), 1);
      assert.equal(spearman([NaN, 1], [1, 2]), 0);
      assert.throws(() => spearman([1, 2], [1]), /lengths differ/);
      assert.equal(pearson([2, 2], [1, 3]), 0);
    });
  });

  describe('clarity', () => {
    it('is 1 for a one-hot map and topFraction for a uniform one', () => {
      const oneHot = new Float32Array(100);
      oneHot[37] = 5;
      close(clarity(oneHot), 1);
      close(clarity(new Float32Array(100).fill(0.3)), 0.1);
      close(clarity(new Float32Array(784).fill(2), 0.1), 0.1); // 78.4 pixels: the last one counted pro rata
      close(clarity(new Float32Array(10).fill(1), 1), 1);
    });

    it('uses the positive part only and gives 0 for an all-zero map', () => {
      assert.equal(clarity(new Float32Array(50)), 0);
      assert.equal(clarity(new Float32Array(50).fill(-1)), 0);
      // Positive mass 1 + 3 = 4; the top 10% (1 pixel of 10) holds 3.
      close(clarity(Float32Array.from([1, 3, -5, 0, 0, 0, 0, 0, 0, 0])), 0.75);
      assert.throws(() => clarity([1], 0), /topFraction/);
    });
  });

  it('norms: L0 above tol, L1, L2, L∞', () => {
    const n = norms(Float32Array.from([3, -4, 0, 1e-8]));
    assert.equal(n.l0, 2);
    close(n.l1, 7, 1e-7);
    close(n.l2, 5, 1e-7);
    assert.equal(n.linf, 4);
    assert.equal(norms(Float32Array.from([0.01, 0.2]), 0.05).l0, 1);
    assert.deepEqual(norms(new Float32Array(0)), { l0: 0, l1: 0, l2: 0, linf: 0 });
  });

  describe('rankOrder and topK', () => {
    it('orders by decreasing value, ties by index, NaN last', () => {
      assert.deepEqual(Array.from(rankOrder([0.5, 0.9, 0.5, 0.1, 0.9])), [1, 4, 0, 2, 3]);
      assert.deepEqual(Array.from(rankOrder([NaN, 1, -3, 2])), [3, 1, 2, 0]);
      assert.deepEqual(Array.from(rankOrder(new Float32Array(4))), [0, 1, 2, 3]);
    });

    it('topK returns the first k of rankOrder, clamped to the length', () => {
      assert.deepEqual(Array.from(topK([0.5, 0.9, 0.5, 0.1, 0.9], 3)), [1, 4, 0]);
      assert.equal(topK([1, 2], 10).length, 2);
      assert.equal(topK([1, 2], 0).length, 0);
      assert.throws(() => topK([1], -1), /k must be/);
    });

    it('is deterministic on a large map with many ties', () => {
      const h = Float32Array.from({ length: 50176 }, (_, i) => (i * 7919) % 13);
      const a = rankOrder(h);
      assert.deepEqual(a, rankOrder(h.slice()));
      for (let i = 1; i < a.length; i++) {
        const prev = h[a[i - 1]];
        const cur = h[a[i]];
        assert.ok(prev > cur || (prev === cur && a[i - 1] < a[i]), `position ${i}`);
      }
    });
  });
});
