/**
 * The explain webview's pure logic (webview-ui/src/lib): colouring and pixel work are checked against the engine's
 * own rendering (src/engine/image/render.ts), so the panel shows what the engine's PNGs show.
 */
import * as assert from 'node:assert/strict';
import type { ExplainResultPayload, ImagePayload, MethodMetrics, ToWebview } from '../../src/shared/protocol';
import { COLORMAPS, colormapTable as sharedTable, lutIndex } from '../../src/shared/colormaps';
import {
  colormapTable as engineTable, heatmapToImage, signedDiffImage,
} from '../../src/engine/image/render';
import { type RasterImage, toBytes, toChannels } from '../../src/engine/image/imageMath';
import { XaiLensError } from '../../src/engine/errors';
import { colorbarRgba, effectiveColormap, heatmapRgba, normalizeHeatmap } from '../../webview-ui/src/lib/heatmap';
import {
  blendRgba, displayScale, imageToRgba, intensity, type Rgba, sideBySideRgba, signedDiffFromDelta, signedDiffRgba,
  upscaleFactor, upscaleRgba,
} from '../../webview-ui/src/lib/image';
import {
  className, fileStem, formatMs, formatNumber, formatPreprocessing, formatProbability, formatSizes, formatProgress, metricVerdict, pngName, topK,
} from '../../webview-ui/src/lib/format';
import {
  applyMessage, changeSettings, initialState, type PanelState, requestExplain, restoreState, selectedLayer,
  selectedTarget, toPersisted,
} from '../../webview-ui/src/lib/state';
import { mulberry32 } from '../../src/engine/data/random';
import { resampleMap, sharedHeatRange } from '../../src/shared/pixels';
import { displayToRgba } from '../../webview-ui/src/lib/image';
import { overlayRgba } from '../../webview-ui/src/lib/overlay';

/** A deterministic pseudo-random sequence, so failures reproduce. */
const rng = mulberry32;

function randomImage(width: number, height: number, channels: 1 | 3 | 4, seed: number): ImagePayload {
  const r = rng(seed);
  return { width, height, channels, data: Array.from({ length: width * height * channels }, () => Math.fround(r())) };
}

function raster(img: ImagePayload): RasterImage {
  return { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4, data: Float32Array.from(img.data) };
}

/** An engine RGB image as RGBA bytes, rounded the way the engine writes PNGs. */
function engineRgba(img: RasterImage): number[] {
  const bytes = toBytes(toChannels(img, 3));
  const out: number[] = [];
  for (let p = 0; p < img.width * img.height; p++) out.push(bytes[p * 3], bytes[p * 3 + 1], bytes[p * 3 + 2], 255);
  return out;
}

function rgba(width: number, height: number, pixels: number[][]): Rgba {
  return { width, height, data: Uint8ClampedArray.from(pixels.flat()) };
}

function pixel(img: Rgba, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}

function fakeResult(over: Partial<ExplainResultPayload> = {}): ExplainResultPayload {
  return {
    imagePath: '/w/digit-7.png',
    model: {
      dir: '/m', name: 'm', architecture: 'cnn', params: 1, macsPerImage: 1, inputShape: [2, 2, 1],
      classNames: ['zero', 'one', 'two'], layers: [{ name: 'conv', shape: [1, 1, 4], className: 'Conv2D' }],
      defaultLayer: 'conv',
    },
    backend: 'cpu',
    input: { width: 2, height: 2, channels: 1, data: [0, 0.5, 1, 0.25] },
    inverted: false,
    prediction: { label: 1, probabilities: [0.1, 0.7, 0.2] },
    target: 1,
    layer: 'conv',
    methods: [],
    totalMs: 5,
    ...over,
  };
}

describe('webview lib', () => {
  describe('overlays at the image\'s own resolution', () => {
    it('resampleMap: bilinear between pixel centres, edges clamped; the same size is a copy', () => {
      // 2×1 → 4×1: centres of the new pixels fall at x = -0.25, 0.25, 0.75, 1.25 of the old grid.
      assert.deepEqual(Array.from(resampleMap([0, 1], 2, 1, 4, 1)), [0, 0.25, 0.75, 1]);
      assert.deepEqual(Array.from(resampleMap([1, 2, 3, 4], 2, 2, 2, 2)), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(resampleMap([5], 1, 1, 3, 2)), [5, 5, 5, 5, 5, 5]);
      // Downsampling 4×1 → 2×1 reads at x = 0.5 and 2.5.
      assert.deepEqual(Array.from(resampleMap([0, 1, 2, 3], 4, 1, 2, 1)), [0.5, 2.5]);
    });

    it('displayToRgba decodes 8-bit gray and RGB; overlayRgba resamples a model-size map onto it', () => {
      const gray = displayToRgba({ width: 2, height: 1, channels: 1, base64: Buffer.from([0, 200]).toString('base64') });
      assert.deepEqual(Array.from(gray.data), [0, 0, 0, 255, 200, 200, 200, 255]);
      const rgb = displayToRgba({ width: 1, height: 1, channels: 3, base64: Buffer.from([1, 2, 3]).toString('base64') });
      assert.deepEqual(Array.from(rgb.data), [1, 2, 3, 255]);
      assert.throws(() => displayToRgba({ width: 2, height: 2, channels: 3, base64: Buffer.from([1, 2, 3]).toString('base64') }), /3 bytes for 2×2×3/);
      const base = displayToRgba({ width: 4, height: 2, channels: 1, base64: Buffer.alloc(8).toString('base64') });
      const heat = { method: 'gradcam', label: 'Grad-CAM', width: 2, height: 1, data: [0, 1], signed: false, ms: 1 } as unknown as Parameters<typeof overlayRgba>[0];
      const shown = overlayRgba(heat, base, 'gray', 1);
      assert.deepEqual([shown.width, shown.height], [4, 2]);
      // Opacity 1 on a gray colormap: the resampled map itself, 0 → 0.25 → 0.75 → 1 across each row.
      assert.deepEqual(Array.from({ length: 4 }, (_, x) => shown.data[x * 4]), [0, 64, 191, 255]);
    });
  });

  describe('shared colormaps', () => {
    it('the engine renders with the shared tables', () => {
      for (const m of COLORMAPS) assert.equal(engineTable(m), sharedTable(m));
    });

    it('unknown maps: RangeError in shared, XaiLensError from the engine', () => {
      assert.throws(() => sharedTable('plasma' as never), RangeError);
      assert.throws(() => engineTable('plasma' as never), XaiLensError);
    });

    it('lutIndex clamps and reads NaN as 0', () => {
      assert.equal(lutIndex(-1), 0);
      assert.equal(lutIndex(2), 255);
      assert.equal(lutIndex(NaN), 0);
      assert.equal(lutIndex(0.5), 128);
    });
  });

  describe('heatmap', () => {
    it('normalizeHeatmap (src/shared/pixels.ts): unsigned min–max, signed around 0.5, non-finite values ignored', () => {
      assert.deepEqual(Array.from(normalizeHeatmap([1, 3, NaN, 2, Infinity], false)), [0, 1, 0, 0.5, 0]);
      assert.deepEqual(Array.from(normalizeHeatmap([-4, -Infinity, 2], true)), [0, 0.5, 0.75]);
      // On a shared scale (compare): values outside it clamp; a map of half the range reaches only the middle.
      const range = sharedHeatRange([[0, 2], [0, 4]], false);
      assert.deepEqual(range, { lo: 0, hi: 4 });
      assert.deepEqual(Array.from(normalizeHeatmap([0, 2], false, range)), [0, 0.5]);
      assert.deepEqual(Array.from(normalizeHeatmap([-1, 8], false, range)), [0, 1]);
      assert.deepEqual(sharedHeatRange([[-1, 0.5], [0.25, -2]], true), { lo: 0, hi: 2 });
      assert.deepEqual(Array.from(normalizeHeatmap([-1, 0.5], true, { lo: 0, hi: 2 })), [0.25, 0.625]);
      assert.deepEqual(Array.from(normalizeHeatmap([5, 5, 5], false)), [0, 0, 0]);
      assert.deepEqual(Array.from(normalizeHeatmap([0, 0], true)), [0.5, 0.5]);
      assert.deepEqual(Array.from(normalizeHeatmap([-2, 0, 1, 4], true)), [0.25, 0.5, 0.625, 1]);
    });

    it('heatmapRgba gives the engine heatmapToImage colours for every map', () => {
      const r = rng(2);
      const w = 7;
      const h = 5;
      const data = Float32Array.from({ length: w * h }, () => r() * 3 - 1);
      for (const map of COLORMAPS) {
        for (const signed of [false, true]) {
          const mine = heatmapRgba(data, w, h, map, signed);
          const engine = heatmapToImage(data, w, h, signed ? 'redblue' : map, signed);
          assert.deepEqual(Array.from(mine.data), engineRgba(engine), `${map} signed=${signed}`);
        }
      }
    });

    it('signed maps always use redblue, with zero at white', () => {
      assert.equal(effectiveColormap('viridis', true), 'redblue');
      assert.equal(effectiveColormap('jet', false), 'jet');
      assert.equal(effectiveColormap('nope' as never, false), 'viridis');
      const img = heatmapRgba([-1, 0, 1], 3, 1, 'inferno', true);
      assert.deepEqual(pixel(img, 1, 0), [255, 255, 255, 255]);
      const [r0, , b0] = pixel(img, 0, 0);
      const [r2, , b2] = pixel(img, 2, 0);
      assert.ok(b0 > r0 && r2 > b2, 'negative blue, positive red');
    });

    it('heatmapRgba checks the size', () => {
      assert.throws(() => heatmapRgba([1, 2, 3], 2, 2, 'gray', false), RangeError);
    });

    it('colorbarRgba runs from the first to the last table entry', () => {
      const bar = colorbarRgba('gray', 16);
      assert.equal(bar.width, 16);
      assert.equal(bar.height, 1);
      assert.deepEqual(pixel(bar, 0, 0), [0, 0, 0, 255]);
      assert.deepEqual(pixel(bar, 15, 0), [255, 255, 255, 255]);
    });
  });

  describe('image', () => {
    it('imageToRgba: gray replicated, RGB copied, alpha composited on black, like the engine', () => {
      for (const channels of [1, 3, 4] as const) {
        const img = randomImage(4, 3, channels, 10 + channels);
        assert.deepEqual(Array.from(imageToRgba(img).data), engineRgba(raster(img)), `${channels} channels`);
      }
      assert.deepEqual(Array.from(imageToRgba({ width: 1, height: 1, channels: 4, data: [1, 0.5, 0, 0.5] }).data), [128, 64, 0, 255]);
    });

    it('imageToRgba validates its input', () => {
      assert.throws(() => imageToRgba({ width: 2, height: 2, channels: 1, data: [0, 0, 0] }), RangeError);
      assert.throws(() => imageToRgba({ width: 1, height: 1, channels: 2, data: [0, 0] }), RangeError);
      assert.throws(() => imageToRgba({ width: 0, height: 1, channels: 1, data: [] }), RangeError);
    });

    it('intensity is the engine luma (toChannels to 1 channel)', () => {
      for (const channels of [1, 3, 4] as const) {
        const img = randomImage(5, 2, channels, 20 + channels);
        const engine = toChannels(raster(img), 1).data;
        const mine = intensity(img);
        for (let i = 0; i < mine.length; i++) assert.ok(Math.abs(mine[i] - engine[i]) < 1e-6, `${channels}: [${i}]`);
      }
    });

    it('blendRgba: 0 = base, 1 = heat, linear between, clamped, opaque', () => {
      const base = rgba(1, 1, [[0, 100, 200, 255]]);
      const heat = rgba(1, 1, [[200, 100, 0, 255]]);
      assert.deepEqual(pixel(blendRgba(base, heat, 0), 0, 0), [0, 100, 200, 255]);
      assert.deepEqual(pixel(blendRgba(base, heat, 1), 0, 0), [200, 100, 0, 255]);
      assert.deepEqual(pixel(blendRgba(base, heat, 0.25), 0, 0), [50, 100, 150, 255]);
      assert.deepEqual(pixel(blendRgba(base, heat, 7), 0, 0), [200, 100, 0, 255]);
      assert.deepEqual(pixel(blendRgba(base, heat, -1), 0, 0), [0, 100, 200, 255]);
      assert.deepEqual(Array.from(base.data), [0, 100, 200, 255], 'input untouched');
      assert.throws(() => blendRgba(base, rgba(2, 1, [[0, 0, 0, 0], [0, 0, 0, 0]]), 0.5), RangeError);
    });

    it('upscaleRgba copies each pixel into a factor × factor block', () => {
      const img = rgba(2, 1, [[1, 2, 3, 255], [4, 5, 6, 255]]);
      const big = upscaleRgba(img, 3);
      assert.equal(big.width, 6);
      assert.equal(big.height, 3);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 6; x++) assert.deepEqual(pixel(big, x, y), x < 3 ? [1, 2, 3, 255] : [4, 5, 6, 255]);
      }
      const same = upscaleRgba(img, 1);
      assert.notEqual(same.data, img.data, 'a copy');
      assert.deepEqual(same.data, img.data);
      assert.throws(() => upscaleRgba(img, 1.5), RangeError);
      assert.throws(() => upscaleRgba(img, 0), RangeError);
    });

    it('upscaleRgba accepts a view at an unaligned offset', () => {
      const buf = new Uint8ClampedArray(9);
      buf.set([9, 8, 7, 255, 1, 2, 3, 255], 1);
      const big = upscaleRgba({ width: 2, height: 1, data: buf.subarray(1) }, 2);
      assert.deepEqual(pixel(big, 1, 1), [9, 8, 7, 255]);
      assert.deepEqual(pixel(big, 2, 0), [1, 2, 3, 255]);
    });

    it('scales: save ≥ 224 px, display at an integer scale', () => {
      assert.equal(upscaleFactor(28, 28, 224), 8);
      assert.equal(upscaleFactor(28, 20, 224), 12);
      assert.equal(upscaleFactor(300, 300, 224), 1);
      assert.equal(displayScale(28, 28), 8);
      assert.equal(displayScale(100, 60), 2);
      assert.equal(displayScale(300, 300), 1);
      assert.equal(displayScale(4, 4), 16, 'capped');
      assert.throws(() => upscaleFactor(0, 5, 224), RangeError);
    });

    it('sideBySideRgba places images with a background-filled gap', () => {
      const a = rgba(1, 2, [[1, 1, 1, 255], [2, 2, 2, 255]]);
      const b = rgba(1, 1, [[3, 3, 3, 255]]);
      const s = sideBySideRgba([a, b], 2, [9, 9, 9]);
      assert.equal(s.width, 4);
      assert.equal(s.height, 2);
      assert.deepEqual(pixel(s, 0, 1), [2, 2, 2, 255]);
      assert.deepEqual(pixel(s, 1, 0), [9, 9, 9, 255]);
      assert.deepEqual(pixel(s, 3, 0), [3, 3, 3, 255]);
      assert.deepEqual(pixel(s, 3, 1), [9, 9, 9, 255], 'below the shorter image');
      assert.throws(() => sideBySideRgba([], 0), RangeError);
    });

    it('signedDiffRgba matches the engine signedDiffImage (1 and 3 channels)', () => {
      for (const channels of [1, 3] as const) {
        const a = randomImage(6, 4, channels, 30 + channels);
        const b = randomImage(6, 4, channels, 40 + channels);
        const mine = signedDiffRgba(a, b);
        assert.deepEqual(Array.from(mine.data), engineRgba(signedDiffImage(raster(a), raster(b))), `${channels} channels`);
      }
    });

    it('signed diff: red added, blue removed, white unchanged, scaled by max |diff|', () => {
      const img = signedDiffFromDelta([0.5, -0.25, 0, 1e-9], 4, 1);
      assert.deepEqual(pixel(img, 0, 0), [255, 0, 0, 255]);
      assert.deepEqual(pixel(img, 1, 0), [128, 128, 255, 255]);
      assert.deepEqual(pixel(img, 2, 0), [255, 255, 255, 255]);
      const same = randomImage(3, 3, 1, 5);
      assert.ok(signedDiffRgba(same, same).data.every((v) => v === 255), 'equal images: all white');
      assert.throws(() => signedDiffFromDelta([1], 2, 1), RangeError);
      assert.throws(() => signedDiffRgba(same, randomImage(2, 3, 1, 6)), RangeError);
    });
  });

  describe('format', () => {
    it('formatSizes: the counts a method chose, in a fixed order; nothing when it chose none', () => {
      assert.equal(formatSizes({ samples: 1000, batch: 32, forwardBatch: 32 } as never), '1000 samples · batch 32');
      assert.equal(formatSizes({ steps: 50, samples: 1 }), '1 sample · 50 steps');
      assert.equal(formatSizes({ maps: 64, segments: 120 }), '64 maps · 120 segments');
      assert.equal(formatSizes({}), '');
      assert.equal(formatSizes(undefined), '');
    });

    it('formatPreprocessing: range and channel order, then mean, std and background where set', () => {
      assert.equal(formatPreprocessing({ range: [0, 1], channelOrder: 'rgb' }), '[0, 1] RGB');
      assert.equal(formatPreprocessing({ range: [0, 255], mean: [103.939, 116.779, 123.68], channelOrder: 'bgr' }), '[0, 255] BGR − mean [103.939, 116.779, 123.68]');
      assert.equal(formatPreprocessing({ range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'rgb' }), '[0, 1] RGB − mean [0.485, 0.456, 0.406] ÷ std [0.229, 0.224, 0.225]');
      assert.equal(formatPreprocessing({ range: [-1, 1], channelOrder: 'rgb', background: 'dark' }), '[-1, 1] RGB dark background');
    });

    it('topK: largest first, ties by index, non-finite last', () => {
      assert.deepEqual(topK([0.1, 0.5, 0.1, 0.3], 3).map((t) => t.index), [1, 3, 0]);
      assert.deepEqual(topK([NaN, 0.2, 0.8], 5).map((t) => t.index), [2, 1, 0]);
      assert.deepEqual(topK([0.4, 0.6], 0), []);
      assert.equal(topK([0.4, 0.6], 1)[0].probability, 0.6);
    });

    it('class names fall back to "class N"', () => {
      assert.equal(className(['cat', 'dog'], 1), 'dog');
      assert.equal(className(['cat', ''], 1), 'class 1');
      assert.equal(className(undefined, 4), 'class 4');
    });

    it('numbers', () => {
      assert.equal(formatProbability(0.99941), '99.94 %');
      assert.equal(formatProbability(0.00001), '< 0.01 %');
      assert.equal(formatProbability(0), '0.00 %');
      assert.equal(formatProbability(NaN), '–');
      assert.equal(formatMs(3.21), '3.2 ms');
      assert.equal(formatMs(1370.8), '1371 ms');
      assert.equal(formatNumber(0.25790017), '0.258');
      assert.equal(formatNumber(Infinity), '–');
      assert.equal(formatProgress(3, 7, 'Score-CAM'), '3/7: Score-CAM');
      assert.equal(formatProgress(0, 0, 'Starting…'), 'Starting…');
    });

    it('file names of saved views', () => {
      assert.equal(fileStem('/a/b/digit-7.png'), 'digit-7');
      assert.equal(fileStem('C:\\imgs\\cat.photo.jpg'), 'cat.photo');
      assert.equal(fileStem('noext'), 'noext');
      assert.equal(fileStem('/a/.hidden'), '.hidden');
      assert.equal(fileStem(''), 'image');
      assert.equal(pngName('/w/digit-7.png', 'gradcam'), 'digit-7.gradcam.png');
      assert.equal(pngName('digit-7.png', '../x y'), 'digit-7.x-y.png');
    });

    it('metric verdicts: lower deletion, higher insertion than random', () => {
      const m: MethodMetrics = { deletionAuc: 0.2, randomDeletionAuc: 0.5, insertionAuc: 0.4, randomInsertionAuc: 0.5, clarity: 1 };
      assert.deepEqual(metricVerdict(m), { deletionBetter: true, insertionBetter: false });
    });
  });

  describe('state', () => {
    const settings = { opacity: 0.3, colormap: 'jet' as const, counterfactual: 'none' as const };

    function run(s: PanelState, ...msgs: ToWebview[]): PanelState {
      return msgs.reduce(applyMessage, s);
    }

    it('init takes the extension settings until the user changed them', () => {
      let s = run(initialState(), { type: 'init', imageName: 'a.png', settings });
      assert.deepEqual(s.settings, settings);
      s = changeSettings(s, { opacity: 0.9 });
      s = run(s, { type: 'init', imageName: 'a.png', settings: { ...settings, opacity: 0.1 } });
      assert.equal(s.settings.opacity, 0.9);
      assert.equal(s.settings.colormap, 'jet');
    });

    it('a result clears busy and sets the selection; init for another image drops it', () => {
      const result = fakeResult({ target: 2, layer: 'conv', counterfactual: undefined });
      let s = run(initialState(), { type: 'init', imageName: 'digit-7.png', settings },
        { type: 'progress', done: 1, total: 3, message: 'Grad-CAM' });
      assert.equal(s.busy, true);
      assert.deepEqual(s.progress, { done: 1, total: 3, message: 'Grad-CAM' });
      s = run(s, { type: 'result', result });
      assert.equal(s.busy, false);
      assert.equal(s.progress, undefined);
      assert.equal(s.result, result);
      assert.equal(selectedTarget(s), 2);
      assert.equal(selectedLayer(s), 'conv');
      assert.equal(s.settings.counterfactual, 'none', 'no counterfactual in the result: choice kept');
      const same = run(s, { type: 'init', imageName: 'digit-7.png', settings });
      assert.equal(same.result, result, 'a re-sent init keeps the result');
      const other = run(s, { type: 'init', imageName: 'digit-3.png', settings });
      assert.equal(other.result, undefined);
      assert.equal(other.target, undefined);
    });

    it('a partial result paints early and keeps the panel busy until the final result', () => {
      const partial = fakeResult({ counterfactual: undefined });
      let s = run(initialState(), { type: 'progress', done: 1, total: 8, message: 'gradcam' }, { type: 'partial', result: partial });
      assert.equal(s.result, partial);
      assert.equal(s.busy, true);
      assert.deepEqual(s.progress, { done: 1, total: 8, message: 'gradcam' });
      const final = fakeResult();
      s = run(s, { type: 'result', result: final });
      assert.equal(s.busy, false);
      assert.equal(s.result, final);
    });

    it('the counterfactual picker follows the result', () => {
      const cf = {
        method: 'growing-spheres' as const, found: false, label: 0, probability: 0.2,
        image: { width: 2, height: 2, channels: 1, data: [0, 0, 0, 0] }, diff: [0, 0, 0, 0],
        l0: 0, l1: 0, l2: 0, linf: 0, iterations: 1, ms: 1,
      };
      const s = run(initialState(), { type: 'result', result: fakeResult({ counterfactual: cf }) });
      assert.equal(s.settings.counterfactual, 'growing-spheres');
    });

    it('error, cancelled and saved', () => {
      let s = run(initialState(), { type: 'progress', done: 0, total: 2, message: '' }, { type: 'error', message: 'bad layer' });
      assert.equal(s.busy, false);
      assert.equal(s.error, 'bad layer');
      s = run(s, { type: 'progress', done: 0, total: 2, message: '' });
      assert.equal(s.error, undefined, 'a new run clears the error');
      s = run(s, { type: 'cancelled' });
      assert.equal(s.busy, false);
      assert.equal(s.progress, undefined);
      assert.equal(run(s, { type: 'saved', path: '/x/a.png' }).saved, '/x/a.png');
      assert.equal(applyMessage(s, { type: 'bogus' } as unknown as ToWebview), s);
    });

    it('picker changes post explain with target, layer and counterfactual', () => {
      const s0 = run(initialState(), { type: 'init', imageName: 'digit-7.png', settings: { ...settings, counterfactual: 'gradient' } },
        { type: 'result', result: fakeResult() });
      const a = requestExplain(s0, { target: 2 });
      assert.deepEqual(a.message, { type: 'explain', target: 2, layer: 'conv', counterfactual: 'gradient' });
      assert.equal(a.state.busy, true);
      assert.equal(selectedTarget(a.state), 2);
      const b = requestExplain(a.state, { counterfactual: 'growing-spheres' });
      assert.deepEqual(b.message, { type: 'explain', target: 2, layer: 'conv', counterfactual: 'growing-spheres' });
      assert.equal(b.state.settingsTouched, true);
      const c = requestExplain(b.state, { layer: 'other' });
      assert.deepEqual(c.message, { type: 'explain', target: 2, layer: 'other', counterfactual: 'growing-spheres' });
      assert.equal(s0.busy, false, 'input untouched');
    });

    it('changeSettings validates', () => {
      const s = changeSettings(initialState(), { opacity: 3, colormap: 'nope' as never });
      assert.deepEqual(s.settings, initialState().settings);
      assert.equal(changeSettings(s, { colormap: 'gray' }).settings.colormap, 'gray');
    });

    it('persisted state survives JSON and restores; garbage gives the initial state', () => {
      let s = run(initialState(), { type: 'init', imageName: 'digit-7.png', settings }, { type: 'result', result: fakeResult() });
      s = changeSettings(s, { colormap: 'inferno' });
      s = requestExplain(s, { target: 0 }).state;
      const back = restoreState(JSON.parse(JSON.stringify(toPersisted(s))));
      assert.deepEqual(back.result, s.result);
      assert.equal(back.target, 0);
      assert.equal(back.layer, 'conv');
      assert.equal(back.imageName, 'digit-7.png');
      assert.equal(back.settings.colormap, 'inferno');
      assert.equal(back.settingsTouched, true);
      assert.equal(back.busy, false, 'a restored panel is not busy');
      assert.deepEqual(restoreState(undefined), initialState());
      assert.deepEqual(restoreState({ version: 0, result: fakeResult() }), initialState());
      const broken = restoreState({ version: 1, imageName: 7, settings: { opacity: 'x' }, result: { input: 1 }, target: -1 });
      assert.equal(broken.result, undefined);
      assert.equal(broken.target, undefined);
      assert.equal(broken.imageName, '');
      assert.deepEqual(broken.settings, initialState().settings);
    });

    it('selection defaults: predicted class, result layer, model default layer', () => {
      const result = fakeResult({ target: 1, layer: 'conv' });
      const s = { ...initialState(), result };
      assert.equal(selectedTarget(s), 1);
      assert.equal(selectedLayer({ ...initialState(), model: result.model }), 'conv');
      assert.equal(selectedTarget(initialState()), undefined);
    });
  });
});
