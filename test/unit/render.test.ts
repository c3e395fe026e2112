import * as assert from 'node:assert/strict';
import { decode as decodePng } from 'fast-png';
import {
  COLORMAPS, colormap, heatmapToImage, normalizeHeatmap, overlay, renderPng, resizeMapBilinear, sideBySide,
  signedDiffImage, upscaleNearest, upscaleToAtLeast,
} from '../../src/engine/image/render';
import { XaiLensError } from '../../src/engine/errors';
import { assertClose, img } from './helpers';


function hex(h: string): number[] {
  const v = parseInt(h.slice(1), 16);
  return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

describe('render', () => {
  describe('colormap', () => {
    it('hits the published endpoints', () => {
      assertClose(colormap(0, 'viridis'), hex('#440154'), 1 / 255);
      assertClose(colormap(1, 'viridis'), hex('#fde725'), 1 / 255);
      assertClose(colormap(0, 'inferno'), hex('#000004'), 1 / 255);
      assertClose(colormap(1, 'inferno'), hex('#fcffa4'), 1 / 255);
      assertClose(colormap(0, 'jet'), [0, 0, 0.5]); // dark blue
      assertClose(colormap(1, 'jet'), [0.5, 0, 0]); // dark red
      assert.deepEqual(colormap(0.5, 'redblue'), [1, 1, 1]); // zero attribution is exactly white
      assertClose(colormap(0, 'gray'), [0, 0, 0]);
      assertClose(colormap(1, 'gray'), [1, 1, 1]);
    });

    it('matches viridis and jet in the middle', () => {
      // viridis(0.5) is #21918c in matplotlib.
      assertClose(colormap(0.5, 'viridis'), hex('#21918c'), 0.02);
      // jet(0.5): green full, red and blue symmetric ramps.
      const [r, g, b] = colormap(0.5, 'jet');
      assert.ok(g === 1 && r > 0.4 && r < 0.6 && b > 0.4 && b < 0.6, `${r} ${g} ${b}`);
    });

    it('redblue goes blue → white → red', () => {
      const [r0, , b0] = colormap(0, 'redblue');
      const [r1, , b1] = colormap(1, 'redblue');
      assert.ok(b0 > r0 + 0.3 && r1 > b1 + 0.3);
      assertClose(heatmapToImage(new Float32Array([0]), 1, 1, 'redblue', true).data, [1, 1, 1]); // exact white
    });

    it('clamps out-of-range values and treats NaN as 0, for every map', () => {
      for (const m of COLORMAPS) {
        assert.deepEqual(colormap(-3, m), colormap(0, m));
        assert.deepEqual(colormap(7, m), colormap(1, m));
        assert.deepEqual(colormap(NaN, m), colormap(0, m));
      }
    });
  });

  describe('normalizeHeatmap', () => {
    it('unsigned: min-max to 0..1, constant → zeros', () => {
      assertClose(normalizeHeatmap(new Float32Array([2, 4, 3, 6]), false), [0, 0.5, 0.25, 1]);
      assertClose(normalizeHeatmap(new Float32Array([5, 5, 5]), false), [0, 0, 0]);
    });

    it('signed: v / max|v| mapped to (v + 1) / 2, zero stays at 0.5', () => {
      assertClose(normalizeHeatmap(new Float32Array([-2, 0, 1, 4]), true), [0.25, 0.5, 0.625, 1]);
      assertClose(normalizeHeatmap(new Float32Array([0, 0]), true), [0.5, 0.5]);
    });

    it('ignores non-finite values', () => {
      assertClose(normalizeHeatmap(new Float32Array([0, NaN, 2, Infinity]), false), [0, 0, 1, 0]);
    });
  });

  it('heatmapToImage colours through the table and checks the size', () => {
    const im = heatmapToImage(new Float32Array([0, 1]), 2, 1, 'viridis', false);
    assert.equal(im.channels, 3);
    assertClose(im.data.subarray(0, 3), colormap(0, 'viridis'));
    assertClose(im.data.subarray(3), colormap(1, 'viridis'));
    assert.throws(() => heatmapToImage(new Float32Array(3), 2, 1, 'viridis', false), /expected 1×2 = 2 values/);
  });

  describe('overlay', () => {
    const base = img(2, 1, 1, [0.2, 0.8]);
    const heat = img(2, 1, 3, [1, 0, 0, 0, 0, 1]);

    it('opacity 0 is the base (as RGB), opacity 1 is the heat', () => {
      assert.deepEqual(overlay(base, heat, 0).data, Float32Array.from([0.2, 0.2, 0.2, 0.8, 0.8, 0.8]));
      assert.deepEqual(overlay(base, heat, 1).data, heat.data);
      assertClose(overlay(base, heat, 0.5).data, [0.6, 0.1, 0.1, 0.4, 0.4, 0.9]);
    });

    it('rejects a bad opacity with the value and mismatched sizes', () => {
      const echoes = (e: unknown) => e instanceof XaiLensError && /1\.5/.test(e.message);
      assert.throws(() => overlay(base, heat, 1.5), echoes);
      assert.throws(() => overlay(base, heat, NaN), /NaN/);
      assert.throws(() => overlay(base, img(1, 1, 3, [0, 0, 0]), 0.5), /1×1/);
    });
  });

  describe('upscale', () => {
    it('nearest 2×2 → 4×4 replicates pixels exactly', () => {
      const up = upscaleNearest(img(2, 2, 1, [1, 2, 3, 4]), 2);
      assert.equal(up.width, 4);
      assert.equal(up.height, 4);
      assert.deepEqual(Array.from(up.data), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
      const rgb = upscaleNearest(img(1, 1, 3, [0.1, 0.2, 0.3]), 3);
      assert.deepEqual(rgb.data, Float32Array.from(Array.from({ length: 9 }, () => [0.1, 0.2, 0.3]).flat()));
      assert.throws(() => upscaleNearest(rgb, 1.5), /positive integer/);
    });

    it('upscaleToAtLeast picks the smallest sufficient factor', () => {
      const digit = img(28, 28, 1, new Array(784).fill(0.5));
      const up = upscaleToAtLeast(digit, 256);
      assert.equal(up.width, 280); // factor 10: 9 × 28 = 252 < 256
      assert.equal(upscaleToAtLeast(digit, 10), digit); // factor 1
      assert.equal(upscaleToAtLeast(img(30, 10, 1, new Array(300).fill(0)), 25).height, 30); // min side 10 → 3
    });
  });

  describe('resizeMapBilinear', () => {
    it('keeps a constant map constant', () => {
      const out = resizeMapBilinear(new Float32Array(49).fill(0.3), 7, 7, 28, 28);
      assert.equal(out.length, 784);
      assertClose(out, new Array(784).fill(0.3));
    });

    it('2×2 → 4×4 with half-pixel centres (tf.image.resizeBilinear, halfPixelCenters)', () => {
      // Source positions (i + 0.5)·0.5 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to 0, 0.25, 0.75, 1, per axis.
      // [[0, 1], [2, 3]]: value = xWeight + 2·yWeight with weights 0, 0.25, 0.75, 1.
      const out = resizeMapBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 4, 4);
      assertClose(out, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
    });

    it('returns a copy for an identity resize and validates lengths', () => {
      const m = new Float32Array([1, 2, 3, 4]);
      const out = resizeMapBilinear(m, 2, 2, 2, 2);
      assert.notEqual(out, m);
      assert.deepEqual(out, m);
      assert.throws(() => resizeMapBilinear(m, 3, 3, 6, 6), /expected 3×3/);
    });
  });

  describe('signedDiffImage', () => {
    it('red where intensity was added, blue where removed, white where unchanged', () => {
      const a = img(3, 1, 1, [0.5, 0.5, 0.5]);
      const b = img(3, 1, 1, [1, 0.5, 0.25]);
      // Diffs +0.5, 0, −0.25 scaled by 0.5: +1 (pure red), 0 (white), −0.5 (half blue).
      assertClose(signedDiffImage(a, b).data, [1, 0, 0, 1, 1, 1, 0.5, 0.5, 1]);
    });

    it('equal images give all white', () => {
      const a = img(2, 1, 3, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
      assert.deepEqual(signedDiffImage(a, a).data, new Float32Array(6).fill(1));
      assert.throws(() => signedDiffImage(a, img(1, 1, 3, [0, 0, 0])), /sizes differ/);
    });
  });

  it('sideBySide lays images out with a gap on white, converting mixed channels to RGB', () => {
    const a = img(1, 2, 1, [0, 0.5]);
    const b = img(2, 1, 1, [0.25, 0.75]);
    const gray = sideBySide([a, b], 1);
    assert.equal(gray.width, 4);
    assert.equal(gray.height, 2);
    assert.equal(gray.channels, 1);
    assert.deepEqual(Array.from(gray.data), [0, 1, 0.25, 0.75, 0.5, 1, 1, 1]);
    const mixed = sideBySide([a, img(1, 1, 3, [1, 0, 0])], 0);
    assert.equal(mixed.channels, 3);
    assert.deepEqual(Array.from(mixed.data), [0, 0, 0, 1, 0, 0, 0.5, 0.5, 0.5, 1, 1, 1]);
    assert.throws(() => sideBySide([], 2), /no images/);
  });

  it('renderPng writes an 8-bit PNG that decodes to the same pixels', () => {
    const im = heatmapToImage(new Float32Array([0, 0.5, 1, 0.25]), 2, 2, 'jet', false);
    const png = decodePng(renderPng(im));
    assert.equal(png.width, 2);
    assert.equal(png.height, 2);
    assert.equal(png.channels, 3);
    assert.deepEqual(Array.from(png.data), Array.from(im.data, (v) => Math.round(v * 255)));
  });
});
