/**
 * Explainers at photo size: the CAM layer rule, the memory estimate behind every batch, and every method and both
 * counterfactuals on a 224×224×3 MobileNetV2 within a forced-small memory budget (the wasm heap must never abort).
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { createModelView, defaultCamLayer } from '../../src/engine/explain/modelView';
import { EXPLAINERS } from '../../src/engine/explain/registry';
import { explainImage, quantizeCounterfactual } from '../../src/engine/explain/explain';
import { growingSpheres } from '../../src/engine/explain/counterfactuals/growingSpheres';
import type { Counterfactual } from '../../src/engine/explain/counterfactuals/types';
import { faithfulness } from '../../src/engine/explain/deletion';
import { fitBatch, gradientBatchBudget, modelCost, scaledSamples, SAMPLE_MAC_BUDGET } from '../../src/engine/explain/budget';
import { buildMobileNetV2 } from '../../src/engine/models/mobilenetv2';
import type { ImageShape } from '../../src/engine/explain/types';

const SHAPE: ImageShape = [224, 224, 3];

/** A smooth colour photo stand-in: gradients and a bright disc, 8-bit values in [0, 1] as decoded from a PNG. */
function photo(): Float32Array {
  const [h, w] = SHAPE;
  const x = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let c = 0; c < w; c++) {
      const disc = (y - 90) ** 2 + (c - 130) ** 2 < 40 ** 2 ? 0.6 : 0;
      x[(y * w + c) * 3] = Math.min(1, 0.2 + 0.5 * (c / w) + disc);
      x[(y * w + c) * 3 + 1] = Math.min(1, 0.3 + 0.4 * (y / h) + disc * 0.5);
      x[(y * w + c) * 3 + 2] = 0.5 - 0.3 * (y / h);
    }
  }
  return x.map((v) => Math.round(v * 255) / 255);
}

describe('explainers at 224×224×3', function () {
  this.timeout(900_000);
  const saved = process.env.XAI_LENS_BATCH_MEMORY_MB;
  before(async () => {
    await initBackend('wasm');
  });
  after(() => {
    if (saved === undefined) delete process.env.XAI_LENS_BATCH_MEMORY_MB;
    else process.env.XAI_LENS_BATCH_MEMORY_MB = saved;
  });

  it('the default CAM layer is the last one of at least 2×2, never a 1×1 map at the end', () => {
    const input = tf.input({ shape: [32, 32, 3] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'conv16' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'conv8' }).apply(a) as tf.SymbolicTensor;
    const pooled = tf.layers.averagePooling2d({ poolSize: 8, name: 'pool1x1' }).apply(b) as tf.SymbolicTensor; // 1×1×8, still 4-D
    const conv1 = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'conv1x1' }).apply(pooled) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(conv1) as tf.SymbolicTensor;
    const probs = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
    const view = createModelView(tf.model({ inputs: input, outputs: probs }));
    assert.deepEqual(view.spatialLayers.map((l) => [l.name, l.shape]), [
      ['conv16', [16, 16, 4]],
      ['conv8', [8, 8, 8]],
      ['pool1x1', [1, 1, 8]],
      ['conv1x1', [1, 1, 8]],
    ]);
    assert.equal(view.defaultLayer, 'conv8');
    // Only maps under 2×2: the largest (the last of equals); a 2×1 strip is not 2×2 either.
    const only = (shapes: [string, number, number][]) => shapes.map(([name, h, w]) => ({ name, shape: [h, w, 4] as ImageShape, className: 'Conv2D' }));
    assert.equal(defaultCamLayer(only([['a', 1, 1], ['b', 2, 1], ['c', 1, 1]])), 'b');
    assert.equal(defaultCamLayer(only([['a', 1, 1], ['b', 1, 1]])), 'b');
    assert.equal(defaultCamLayer([]), '');
  });

  it('estimates the memory of a batch at or above what the wasm backend measures', async () => {
    const model = buildMobileNetV2({ inputShape: SHAPE, numClasses: 10, alpha: 0.35, topChannels: 64, seed: 3 });
    const view = createModelView(model);
    const cost = modelCost(model);
    const x = tf.randomUniform([2, ...SHAPE], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(view.scores(z as tf.Tensor4D)))(x)));
    const measured = (info.peakBytes - before) / 2;
    assert.ok(measured <= cost.bytesPerImage, `measured ${measured} B/image > estimate ${cost.bytesPerImage}`);
    assert.ok(measured >= 0.5 * cost.bytesPerImage, `estimate ${cost.bytesPerImage} B/image is over twice the measured ${measured}`);
    x.dispose();
    model.dispose();
  });

  it('fits batches to the budget, says so, and scales sample counts with the model cost', () => {
    const cost = { macs: 300e6, activations: 20e6, bytesPerImage: 320e6, largest: 1.2e6 };
    process.env.XAI_LENS_BATCH_MEMORY_MB = '1024';
    assert.deepEqual(fitBatch(cost, 2, 'SmoothGrad'), { batch: 2 });
    assert.deepEqual(fitBatch(cost, 64, 'SmoothGrad'), {
      batch: 3,
      note: 'SmoothGrad: a batch of 64 would need ~19531 MB, over the 1024 MB budget; ran batches of 3',
    });
    assert.equal(fitBatch({ ...cost, bytesPerImage: 4e9 }, 8, 'IG').batch, 1, 'one image always runs');
    // Input-gradient batches keep to 256 MB: one image of this size, while a small model keeps its batch.
    assert.equal(gradientBatchBudget(), 256 * 2 ** 20);
    assert.deepEqual(fitBatch(cost, 64, 'SmoothGrad', gradientBatchBudget()), {
      batch: 1,
      note: 'SmoothGrad: a batch of 64 would need ~19531 MB, over the 256 MB budget; ran batches of 1',
    });
    assert.deepEqual(fitBatch({ ...cost, bytesPerImage: 2e6 }, 64, 'SmoothGrad', gradientBatchBudget()), { batch: 64 });
    process.env.XAI_LENS_BATCH_MEMORY_MB = '100';
    assert.equal(gradientBatchBudget(), 100 * 2 ** 20, 'a smaller overall budget still bounds it');
    process.env.XAI_LENS_BATCH_MEMORY_MB = '1024';
    assert.equal(scaledSamples(cost, 1000, 200), 1000);
    assert.equal(scaledSamples({ ...cost, macs: 1e9 }, 1000, 200), Math.round(SAMPLE_MAC_BUDGET / 1e9));
    assert.equal(scaledSamples({ ...cost, macs: 4e9 }, 1000, 200), 200, 'never below the floor');
  });

  it('the gradient counterfactual takes one λ lane per thread on photo-sized models unless asked for more', async () => {
    process.env.XAI_LENS_BATCH_MEMORY_MB = '1024';
    const model = buildMobileNetV2({ inputShape: [28, 28, 1], numClasses: 10, alpha: 0.35, seed: 4 });
    const view = createModelView(model);
    const x = Float32Array.from({ length: 784 }, (_, i) => ((i * 29) % 101) / 100);
    const lanes = async (macs: number, parallel?: number): Promise<unknown> => {
      view.cost = { ...view.cost, macs };
      const r = await explainImage(view, x, {
        methods: [], counterfactual: 'gradient', metrics: false, seed: 1,
        counterfactualOptions: { maxIterations: 2, searchSteps: 1, ...(parallel ? { parallel } : {}) },
      });
      return r.counterfactual?.lanes;
    };
    const small = modelCost(model).macs;
    assert.ok(small < 1e8);
    assert.equal(await lanes(small), 4, 'a digit model keeps the default 4');
    assert.equal(await lanes(3e8), 2, 'a MobileNetV2 at 224×224×3 gets one per thread');
    assert.equal(await lanes(3e8, 4), 4, 'an explicit count is kept');
    view.dispose();
    model.dispose();
  });

  it('runs every method and both counterfactuals on a MobileNetV2 within a small memory budget', async () => {
    // One block per stage keeps it fast; still the paper's 224 → 7 geometry with inverted residuals.
    const stages = [16, 24, 32, 64, 96].map((c, i) => ({ t: i ? 6 : 1, c, n: 1, s: i ? 2 : 1 }));
    const model = buildMobileNetV2({ inputShape: SHAPE, numClasses: 10, alpha: 0.35, stages, topChannels: 32, seed: 5 });
    // A budget of 2.5 images: batches of 2 where 64 are asked for.
    const perImage = modelCost(model).bytesPerImage;
    const budget = Math.ceil((2.5 * perImage) / 2 ** 20);
    process.env.XAI_LENS_BATCH_MEMORY_MB = String(budget);
    const view = createModelView(model);
    assert.equal(view.defaultLayer, 'top_relu');
    assert.deepEqual(view.layerShape(view.defaultLayer), [7, 7, 32]);
    assert.equal(view.forwardBatch, 2);
    const x = photo();
    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const bounded = async (what: string, f: () => Promise<void>) => {
      const info = await tf.profile(f);
      const peak = info.peakBytes - bytesBefore;
      // The budget bounds the model batches; weights, the images and the methods' own buffers come on top.
      assert.ok(peak <= 2 * budget * 2 ** 20, `${what}: peak ${(peak / 2 ** 20).toFixed(0)} MB over twice the ${budget} MB budget`);
    };
    await bounded('every method + gradient counterfactual', async () => {
      const r = await explainImage(view, x, {
        methods: [...EXPLAINERS],
        counterfactual: 'gradient',
        metrics: false,
        seed: 2,
        methodOptions: { smoothgrad: { samples: 4, batch: 64 }, ig: { steps: 4, batch: 64 }, lime: { samples: 24, segments: 30 } },
      });
      // Methods that do not apply (attention maps on a model without attention) are skipped with a reason.
      assert.deepEqual(r.attributions.map((a) => a.method), EXPLAINERS.filter((e) => !e.unavailable?.(view)).map((e) => e.id));
      for (const a of r.attributions) {
        assert.equal(a.heatmap.length, 224 * 224, a.method);
        assert.ok(a.heatmap.every(Number.isFinite), `${a.method} finite`);
        if (a.layerMap) assert.deepEqual([a.layerMap.height, a.layerMap.width], [7, 7]);
      }
      const by = (id: string) => r.attributions.find((a) => a.method === id)!.scores!;
      assert.deepEqual([by('smoothgrad').samples, by('smoothgrad').batch], [4, 2]);
      assert.equal(by('smoothgrad').note, `SmoothGrad: a batch of 64 would need ~${((64 * perImage) / 2 ** 20).toFixed(0)} MB, over the ${budget} MB budget; ran batches of 2`);
      assert.deepEqual([by('ig').steps, by('ig').batch], [4, 2]);
      assert.deepEqual([by('scorecam').maps, by('scorecam').forwardBatch], [32, 2]);
      assert.deepEqual([by('lime').superpixels, by('lime').samples], ['SLIC, CIELAB', 24]);
      assert.ok(r.notes!.includes(by('smoothgrad').note as string));
      assert.ok(r.notes!.some((n) => n.startsWith('gradient counterfactual: a batch of 4 would need')), JSON.stringify(r.notes));
      // The deletion/insertion metrics' batches of 64 images go through the view's bounded batches too.
      const gradcam = r.attributions[0];
      const f = faithfulness(view.probabilities, x, SHAPE, gradcam.heatmap, r.target, { steps: 4, randomTrials: 1, batchSize: 64 });
      assert.ok([f.deletionAuc, f.insertionAuc, f.randomDeletionAuc].every((v) => v >= 0 && v <= 1), JSON.stringify(f));
      checkCounterfactual(r.counterfactual!, r.prediction.label);
    });
    await bounded('growing spheres', async () => {
      // Asks for model batches of 256: the view splits them.
      const raw = growingSpheres(view.probabilities, x, SHAPE, { samplesPerLayer: 8, maxIterations: 6, refineIterations: 1, batchSize: 256, seed: 1 });
      const r = quantizeCounterfactual(view, x, SHAPE, raw);
      checkCounterfactual(r, raw.originalLabel);
    });
    assert.equal(tf.memory().numTensors, tensorsBefore);
    model.dispose();
  });
});

/** RGB, inside the valid pixel range, on the 8-bit grid it is saved with, and a class change when found. */
function checkCounterfactual(c: Counterfactual, original: number): void {
  assert.equal(c.image.length, 224 * 224 * 3);
  for (const v of c.image) assert.ok(v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-3, `${c.method} value ${v}`);
  if (c.found) assert.notEqual(c.label, original);
}
