import * as assert from 'node:assert/strict';
import {
  type RasterImage, createImage, fromBytes, invert, meanStd, resizeArea, resizeAuto, resizeBilinear, standardize,
  toBytes, toChannels, toModelInput,
} from '../../src/engine/image/imageMath';
import { assertClose, img } from './helpers';


/** A deterministic pseudo-random image. */
function noise(width: number, height: number, channels: 1 | 3 | 4): RasterImage {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 101) / 100;
  return { width, height, channels, data };
}

describe('imageMath', () => {
  describe('toChannels', () => {
    it('replicates gray into RGB and adds opaque alpha', () => {
      const g = img(2, 1, 1, [0.25, 1]);
      assertClose(toChannels(g, 3).data, [0.25, 0.25, 0.25, 1, 1, 1]);
      assertClose(toChannels(g, 4).data, [0.25, 0.25, 0.25, 1, 1, 1, 1, 1]);
    });

    it('converts RGB to gray with BT.601 luma', () => {
      const c = img(3, 1, 3, [1, 0, 0, 0, 1, 0, 0.5, 0.5, 0.5]);
      assertClose(toChannels(c, 1).data, [0.299, 0.587, 0.5]);
    });

    it('composites RGBA on black (MNIST background)', () => {
      // White opaque, white half-transparent, white fully transparent, red opaque.
      const rgba = img(4, 1, 4, [1, 1, 1, 1, 1, 1, 1, 0.5, 1, 1, 1, 0, 1, 0, 0, 1]);
      assertClose(toChannels(rgba, 1).data, [1, 0.5, 0, 0.299]);
      assertClose(toChannels(rgba, 3).data, [1, 1, 1, 0.5, 0.5, 0.5, 0, 0, 0, 1, 0, 0]);
    });

    it('returns the same image when nothing changes and never mutates', () => {
      const g = img(1, 1, 1, [0.5]);
      assert.equal(toChannels(g, 1), g);
      toChannels(g, 3);
      assert.deepEqual(Array.from(g.data), [0.5]);
    });
  });

  describe('resize', () => {
    it('identity resize returns the same pixels', () => {
      const n = noise(5, 4, 3);
      for (const f of [resizeBilinear, resizeArea, resizeAuto]) assert.deepEqual(f(n, 4, 5).data, n.data);
    });

    it('keeps a constant image constant at any size', () => {
      const c = createImage(37, 23, 3, 0.7);
      for (const [h, w] of [[7, 5], [23, 60], [100, 3], [1, 1]]) {
        for (const f of [resizeBilinear, resizeArea, resizeAuto]) {
          const r = f(c, h, w);
          assert.equal(r.width, w);
          assert.equal(r.height, h);
          assertClose(r.data, new Float32Array(h * w * 3).fill(0.7), 1e-5);
        }
      }
    });

    it('area-averages 2×2 to 1×1 and 4×4 to 2×2', () => {
      assertClose(resizeArea(img(2, 2, 1, [0, 1, 0.5, 0.5]), 1, 1).data, [0.5]);
      const four = img(4, 4, 1, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0.2, 0.6, 0, 0, 0.4, 0.8]);
      assertClose(resizeArea(four, 2, 2).data, [1, 0, 0, 0.5]);
    });

    it('area-averages a non-integer ratio by overlap (3 → 2)', () => {
      // Output 0 covers [0, 1.5): 1·a + 0.5·b over 1.5; output 1 covers [1.5, 3).
      const r = resizeArea(img(3, 1, 1, [0, 0.3, 0.9]), 1, 2);
      assertClose(r.data, [(0 + 0.5 * 0.3) / 1.5, (0.5 * 0.3 + 0.9) / 1.5]);
    });

    it('shrinking a fine checkerboard by area gives its mean (no aliasing)', () => {
      const w = 64;
      const data = new Float32Array(w * w);
      for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) data[y * w + x] = (x + y) % 2;
      const r = resizeArea({ width: w, height: w, channels: 1, data }, 8, 8);
      assertClose(r.data, new Float32Array(64).fill(0.5), 1e-6);
    });

    it('bilinear upsampling interpolates with half-pixel centres', () => {
      // 1×2 → 1×4: sample positions -0.25, 0.25, 0.75, 1.25 clamp to [0, 1].
      assertClose(resizeBilinear(img(2, 1, 1, [0, 1]), 1, 4).data, [0, 0.25, 0.75, 1]);
    });

    it('rejects non-positive sizes', () => {
      assert.throws(() => resizeArea(img(1, 1, 1, [0]), 0, 1), RangeError);
    });
  });

  describe('toModelInput', () => {
    it('shrinks a large RGB photo to 28×28×1 by area (mean preserved)', () => {
      const big = noise(280, 140, 3);
      const gray = toChannels(big, 1);
      const m = toModelInput(big, [28, 28, 1]);
      assert.equal(m.channels, 1);
      assert.equal(m.data.length, 28 * 28);
      assert.ok(Math.abs(meanStd(m.data).mean - meanStd(gray.data).mean) < 1e-4);
    });

    it('grows a small gray image to 32×32×3 bilinearly', () => {
      const m = toModelInput(img(2, 2, 1, [0, 1, 0, 1]), [32, 32, 3]);
      assert.equal(m.channels, 3);
      assert.equal(m.data.length, 32 * 32 * 3);
      // Left edge 0, right edge 1, every channel equal.
      assert.equal(m.data[0], 0);
      assertClose([m.data[31 * 3], m.data[31 * 3 + 1], m.data[31 * 3 + 2]], [1, 1, 1]);
    });

    it('composites alpha before resizing', () => {
      const rgba = createImage(4, 4, 4, 1);
      for (let p = 0; p < 16; p++) rgba.data[p * 4 + 3] = 0; // fully transparent white
      assertClose(toModelInput(rgba, [2, 2, 1]).data, [0, 0, 0, 0]);
    });
  });

  describe('helpers', () => {
    it('byte round trip, invert, standardize', () => {
      const b = Uint8Array.from([0, 128, 255]);
      const f = fromBytes(b, 3, 1, 1);
      assert.deepEqual(toBytes(f), b);
      assertClose(invert(f).data, [1, 1 - 128 / 255, 0]);
      const rgba = img(1, 1, 4, [0.2, 0.4, 0.6, 0.5]);
      assertClose(invert(rgba).data, [0.8, 0.6, 0.4, 0.5]);
      const { mean, std } = meanStd(Float32Array.from([1, 3]));
      assert.equal(mean, 2);
      assert.equal(std, 1);
      assertClose(standardize(Float32Array.from([1, 3]), mean, std), [-1, 1]);
    });
  });
});
