/**
 * Known-answer tests for every attribution method on tiny hand-built models, shape/finiteness over the model zoo,
 * nested models, and tensor leaks.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { createModelView } from '../../src/engine/explain/modelView';
import { EXPLAINERS, getExplainer, parseMethods } from '../../src/engine/explain/registry';
import { ARCHITECTURES } from '../../src/engine/models/zoo';
import type { ExplainRequest, ImageShape } from '../../src/engine/explain/types';
import { argmax as argmaxAt } from '../../src/engine/inference';
import { optionsFor } from './helpers';
import { getCounterfactualMethod } from '../../src/engine/explain/counterfactuals/registry';
import { resolveOptions } from '../../src/engine/options';

/** Ends a symbolic graph with a Dense of known weights and a softmax Activation (so the view finds the logits). */
function classifier(input: tf.SymbolicTensor, features: tf.SymbolicTensor, kernel: number[][], bias?: number[], prefix = 'head'): tf.LayersModel {
  const dense = tf.layers.dense({ units: kernel[0].length, name: `${prefix}_logits`, useBias: true });
  const logits = dense.apply(features) as tf.SymbolicTensor;
  dense.setWeights([tf.tensor2d(kernel), tf.tensor1d(bias ?? kernel[0].map(() => 0))]);
  return tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'softmax', name: `${prefix}_probs` }).apply(logits) as tf.SymbolicTensor });
}

/** logits = x_flat · W: a linear model on 4×4 images whose input gradient is the weight column. */
function linearModel(): { model: tf.LayersModel; weights: number[][] } {
  const input = tf.input({ shape: [4, 4, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const weights = Array.from({ length: 16 }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i)]);
  // A spatial layer is needed by the view; a 1×1 identity conv keeps the model linear.
  return { model: classifier(input, flat, weights), weights };
}

/**
 * Two feature channels on 8×8 inputs: `bright` = relu(x) and `dark` = relu(1 − x), each globally averaged; class 0's
 * logit is 8·mean(bright), class 1's is 8·mean(dark). A bright square is the evidence for class 0.
 */
function squareModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu', name: 'features' });
  const feat = conv.apply(input) as tf.SymbolicTensor;
  conv.setWeights([tf.tensor4d([1, -1], [1, 1, 1, 2]), tf.tensor1d([0, 1])]);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(feat) as tf.SymbolicTensor;
  return classifier(input, pooled, [[8, 0], [0, 8]]);
}

/**
 * For Score-CAM, whose masks black out the input: a black image must be neutral. Channels relu(x − 0.5) and
 * relu(0.5 − x); class 0's logit is 8·mean of the first, class 1 is a constant.
 */
function squareModelNeutralBlack(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu', name: 'features' });
  const feat = conv.apply(input) as tf.SymbolicTensor;
  conv.setWeights([tf.tensor4d([1, -1], [1, 1, 1, 2]), tf.tensor1d([-0.5, 0.5])]);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(feat) as tf.SymbolicTensor;
  return classifier(input, pooled, [[8, 0], [0, 0]], [0, 1]);
}

function squareImage(): Float32Array {
  const img = new Float32Array(64).fill(0.1);
  for (const [y, x] of [[2, 5], [2, 6], [3, 5], [3, 6]]) img[y * 8 + x] = 1;
  return img;
}

const SQUARE = new Set([2 * 8 + 5, 2 * 8 + 6, 3 * 8 + 5, 3 * 8 + 6]);

function request(image: Float32Array, shape: ImageShape, target: number, layer: string, options?: ExplainRequest['options']): ExplainRequest {
  return { image, shape, target, layer, options, seed: 3 };
}

/** Index of the largest value (the engine's argmax over the whole array). */
function argmax(a: ArrayLike<number>): number {
  return argmaxAt(a, 0, a.length);
}

describe('explainers', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('are registered once each, with capabilities, and parsed from a list', () => {
    assert.deepEqual(EXPLAINERS.map((e) => e.id), ['gradcam', 'gradcampp', 'scorecam', 'gradients', 'smoothgrad', 'ig', 'lime', 'attention']);
    assert.equal(getExplainer('lime').capabilities.blackBox, true);
    assert.equal(getExplainer('gradcam').capabilities.needsSpatialLayer, true);
    assert.deepEqual(parseMethods('lime,gradcam,lime').map((e) => e.id), ['gradcam', 'lime']);
    assert.equal(parseMethods('all').length, 8);
    assert.throws(() => parseMethods('gradcam,occlusion'), /unknown method "occlusion"; available: gradcam, gradcampp, scorecam, gradients, smoothgrad, ig, lime, attention, all/);
  });

  it('vanilla gradients of a linear model equal its weights', async () => {
    const { model, weights } = linearModel();
    const view = createModelView(tf.model({ inputs: model.inputs, outputs: model.outputs }));
    for (const target of [0, 1]) {
      const x = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 5);
      // The linear model has no 4-D layer; gradient methods do not need one.
      const r = await getExplainer('gradients').explain(view, request(x, [4, 4, 1], target, ''));
      weights.forEach((row, i) => assert.ok(Math.abs(r.heatmap[i] - row[target]) < 1e-5, `pixel ${i}`));
      assert.equal(r.signed, true);
    }
  }).timeout(30_000);

  it('integrated gradients are complete: attributions sum to f(x) − f(baseline) within 1 %', async () => {
    const view = createModelView(squareModel());
    const x = squareImage();
    const r = await getExplainer('ig').explain(view, request(x, [8, 8, 1], 0, 'features', { steps: 64 }));
    const sum = r.heatmap.reduce((a, b) => a + b, 0);
    const diff = r.scores!.scoreDifference as number;
    assert.ok(Math.abs(diff) > 0.5);
    assert.ok(Math.abs(sum - diff) <= 0.01 * Math.abs(diff), `sum ${sum} vs ${diff}`);
  });

  for (const id of ['gradcam', 'gradcampp', 'scorecam']) {
    it(`${id} finds the known discriminative region, and its complement for the other class`, async () => {
      const view = createModelView(id === 'scorecam' ? squareModelNeutralBlack() : squareModel());
      const x = squareImage();
      const forBright = await getExplainer(id).explain(view, request(x, [8, 8, 1], 0, 'features'));
      assert.ok(SQUARE.has(argmax(forBright.heatmap)), `${id} class 0 peak at ${argmax(forBright.heatmap)}`);
      assert.deepEqual([forBright.layerMap!.height, forBright.layerMap!.width], [8, 8]);
      const forDark = await getExplainer(id).explain(view, request(x, [8, 8, 1], 1, 'features'));
      assert.ok(!SQUARE.has(argmax(forDark.heatmap)), `${id} class 1 should not peak on the square`);
      for (const p of SQUARE) assert.ok(forDark.heatmap[p] <= Math.min(...forDark.heatmap) + 1e-6);
    });
  }

  it('Score-CAM scores only the most varying maps when asked for fewer than the layer has', async () => {
    // Channels relu(x − 0.5) (the square: variance 0.0146), relu(0·x + 0.3) (constant) and relu(0.5 − x) (the
    // background: variance 0.0094); class 0's logit is 8·mean of the first.
    const input = tf.input({ shape: [8, 8, 1] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'features' });
    const feat = conv.apply(input) as tf.SymbolicTensor;
    conv.setWeights([tf.tensor4d([1, 0, -1], [1, 1, 1, 3]), tf.tensor1d([-0.5, 0.3, 0.5])]);
    const pooled = tf.layers.globalAveragePooling2d({}).apply(feat) as tf.SymbolicTensor;
    const view = createModelView(classifier(input, pooled, [[8, 0], [0, 0], [0, 0]], [0, 1]));
    const one = await getExplainer('scorecam').explain(view, request(squareImage(), [8, 8, 1], 0, 'features', { maps: 1 }));
    const w = one.scores!.channelWeights as number[];
    assert.deepEqual([one.scores!.maps, one.scores!.channels, one.scores!.mapsChosenBy], [1, 3, 'spatial variance']);
    assert.ok(w[0] > 0 && w[1] === 0 && w[2] === 0, JSON.stringify(w));
    assert.ok(SQUARE.has(argmax(one.heatmap)));
    const all = await getExplainer('scorecam').explain(view, request(squareImage(), [8, 8, 1], 0, 'features', { maps: 0 }));
    assert.deepEqual([all.scores!.maps, all.scores!.channels], [3, undefined]);
    assert.equal((all.scores!.channelWeights as number[])[0], w[0]);
  });

  it('LIME recovers the one segment a model depends on', async () => {
    // 16×16 image of four constant quadrants (SLIC returns exactly these); class 1's logit reads the top-left only.
    const input = tf.input({ shape: [16, 16, 1] });
    const crop = tf.layers.cropping2D({ cropping: [[0, 8], [0, 8]] }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(crop) as tf.SymbolicTensor;
    const model = classifier(input, pooled, [[0, 6]], [0, -3]);
    const view = createModelView(model);
    const x = new Float32Array(256);
    for (let y = 0; y < 16; y++) for (let c = 0; c < 16; c++) x[y * 16 + c] = [0.9, 0.6, 0.4, 0.2][(y < 8 ? 0 : 2) + (c < 8 ? 0 : 1)];
    const r = await getExplainer('lime').explain(view, request(x, [16, 16, 1], 1, '', { segments: 4, samples: 400 }));
    const s = r.scores as { segments: number; segmentWeights: number[]; r2: number; segmentLabels: number[] };
    assert.equal(s.segments, 4);
    const topLeft = s.segmentLabels[0];
    const others = s.segmentWeights.filter((_, i) => i !== topLeft);
    assert.ok(s.segmentWeights[topLeft] > 0.2, `top-left weight ${s.segmentWeights[topLeft]}`);
    for (const wgt of others) assert.ok(Math.abs(wgt) < 0.05 * s.segmentWeights[topLeft], `other weight ${wgt}`);
    assert.ok(s.r2 > 0.9, `R² ${s.r2}`);
  });

  describe('every method on every architecture', () => {
    // The MobileNetV2 family (the other backbones' builds, round trips and Grad-CAM are in zoo.test.ts).
    for (const arch of ARCHITECTURES.filter((a) => a.backbone.id === 'mobilenetv2')) {
      it(`${arch.id}: finite maps at input resolution, no leaked tensors`, async () => {
        const model = arch.build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, stemStride: '2' }, seed: 2 });
        const view = createModelView(model);
        const x = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 101) / 100);
        const opts = { samples: 8, steps: 8, batch: 32 };
        const before = tf.memory().numTensors;
        assert.equal(getExplainer('attention').unavailable?.(view) === undefined, arch.attention !== undefined);
        for (const e of EXPLAINERS) {
          if (e.unavailable?.(view)) continue;
          const r = await e.explain(view, request(x, [28, 28, 1], 3, view.defaultLayer, optionsFor(e, opts)));
          assert.equal(r.heatmap.length, 784, e.id);
          assert.ok(r.heatmap.every(Number.isFinite), `${e.id} finite`);
          assert.ok(r.ms >= 0);
          if (e.capabilities.needsSpatialLayer) assert.equal(r.layerMap!.layer, view.defaultLayer);
        }
        assert.equal(tf.memory().numTensors, before);
        model.dispose();
      });
    }
  });

  it('works on a nested model (a backbone inside a classifier), on a layer inside the backbone', async () => {
    const backbone = ARCHITECTURES[2].build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, stemStride: '2' }, seed: 4 });
    const input = tf.input({ shape: [28, 28, 1] });
    const features = backbone.apply(input) as tf.SymbolicTensor;
    const outer = classifier(input, features, Array.from({ length: 10 }, (_, i) => [i % 2 ? 1 : -1, i % 3 ? 0.5 : -0.5, 0.1]));
    assert.ok(outer.layers.some((l) => l instanceof tf.LayersModel), 'the backbone is a nested model');
    const view = createModelView(outer);
    assert.ok(view.spatialLayers.some((l) => l.name === 'top_cbam'));
    assert.ok(view.attentionLayers.some((l) => l.layer === 'top_cbam'), 'attention layers inside the backbone are found');
    const x = Float32Array.from({ length: 784 }, (_, i) => ((i * 13) % 97) / 96);
    for (const layer of ['top_cbam', 'block3_expand_relu']) {
      const r = await getExplainer('gradcam').explain(view, request(x, [28, 28, 1], 1, layer));
      assert.ok(r.heatmap.every(Number.isFinite) && r.heatmap.some((v) => v > 0), layer);
    }
    assert.throws(() => view.layerShape('nope'), /unknown layer "nope"; 4-D layers: .*top_cbam/);
  });

  it('says which layer name is ambiguous when a nested model reuses an outer name', () => {
    const backbone = ARCHITECTURES[0].build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, stemStride: '2' }, seed: 4 });
    const input = tf.input({ shape: [28, 28, 1] });
    const clash = classifier(input, backbone.apply(input) as tf.SymbolicTensor, Array.from({ length: 10 }, () => [1, -1]), undefined, 'x');
    clash.layers[clash.layers.length - 2].name = 'logits'; // same name as the backbone's classifier layer
    assert.throws(() => createModelView(clash), /layer name "logits" is used 2 times across the model and its nested models/);
  });

  it('the long methods give way between batches: pause runs there, and a cancel seen there stops the method', async () => {
    const view = createModelView(squareModel());
    // Each model call takes 60 ms, longer than the 50 ms a method runs before it gives way (pacing.ts).
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const slow = new Proxy(view, {
      get(target, key) {
        const v = Reflect.get(target, key, target) as unknown;
        if (typeof v !== 'function') return v;
        const f = v as (...args: unknown[]) => unknown;
        return ['probabilities', 'flatProbabilities', 'scores'].includes(String(key)) ? (...args: unknown[]) => (busy(60), f.apply(target, args)) : f.bind(target);
      },
    });
    const x = squareImage();
    const options: Record<string, Record<string, unknown>> = {
      lime: { samples: 8, batch: 2, segments: 4 }, scorecam: { batch: 1, maps: 0 }, smoothgrad: { samples: 4, batch: 1 }, ig: { steps: 4, batch: 1 },
    };
    const before = tf.memory().numTensors;
    for (const [id, opts] of Object.entries(options)) {
      const controller = new AbortController();
      let pauses = 0;
      const pause = async () => {
        pauses++;
        controller.abort();
      };
      await assert.rejects(getExplainer(id).explain(slow, { ...request(x, [8, 8, 1], 0, 'features', opts), signal: controller.signal, pause }), /cancelled/, id);
      assert.equal(pauses, 1, id);
      assert.equal(tf.memory().numTensors, before, `${id} left tensors behind when cancelled`);
    }
    for (const [id, opts] of [['gradient', { maxIterations: 20, searchSteps: 1 }], ['growing-spheres', { samplesPerLayer: 4 }]] as const) {
      const controller = new AbortController();
      let pauses = 0;
      const cf = getCounterfactualMethod(id);
      await assert.rejects(cf.run(slow, {
        image: x, shape: [8, 8, 1], target: 'any', options: resolveOptions(cf.options, opts, id), signal: controller.signal,
        pause: async () => {
          pauses++;
          controller.abort();
        },
      }) as Promise<unknown>, /cancelled/, `${id} counterfactual`);
      assert.equal(pauses, 1, id);
      assert.equal(tf.memory().numTensors, before, `the ${id} counterfactual left tensors behind when cancelled`);
    }
  });

  it('leaks no tensors over 100 calls of every method', async () => {
    const view = createModelView(squareModel());
    const x = squareImage();
    const before = tf.memory().numTensors;
    for (const e of EXPLAINERS) {
      if (e.unavailable?.(view)) continue;
      for (let i = 0; i < 100; i++) await e.explain(view, request(x, [8, 8, 1], i % 2, 'features', optionsFor(e, { samples: 4, steps: 4, segments: 4 })));
      assert.equal(tf.memory().numTensors, before, e.id);
    }
  });
});
