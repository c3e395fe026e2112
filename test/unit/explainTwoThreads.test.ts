import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { createModelView, type ModelViewImpl } from '../../src/engine/explain/modelView';
import { integratedGradients, smoothGrad } from '../../src/engine/explain/methods/gradients';
import type { Attribution, ExplainRequest, GradientPeer } from '../../src/engine/explain/types';
import { ExplainReplica } from '../../src/engine/parallel/explainReplica';
import { getArchitecture } from '../../src/engine/models/zoo';
import { buildMobileNetV2 } from '../../src/engine/models/mobilenetv2';
import { modelCost } from '../../src/engine/explain/budget';
import { EngineService } from '../../src/engine/process/service';
import { gradientCounterfactual, gradientCounterfactualOn } from '../../src/engine/explain/counterfactuals/gradient';
import { SPLIT_MIN_MACS } from '../../src/engine/parallel/replica';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import { importModel } from '../../src/engine/io/modelFormats';
import { maxAbs, maxAbsDiff } from './helpers';

type Shape = [number, number, number];

/**
 * A CBAM-MobileNetV2 (batch norm with statistics other than the initial ones, attention): the worker must match it.
 * A negative moving mean keeps the ReLUs alive (a positive one silences this random net: every gradient is zero).
 */
function cbamNet(shape: Shape): tf.LayersModel {
  const model = getArchitecture('cbam-mobilenetv2').build({ inputShape: shape, numClasses: 10, options: { alpha: 0.35, stemStride: '2' }, seed: 2 });
  for (const w of model.weights) if (/moving_(mean|variance)/.test(w.name)) w.write(tf.fill(w.shape as number[], w.name.includes('mean') ? -0.05 : 1.5));
  return model;
}

/** The view of a model as costly as one whose counterfactual steps are split (the split itself is what is tested). */
function asLarge(view: ModelViewImpl): ModelViewImpl {
  return Object.assign(Object.create(view) as ModelViewImpl, { cost: { ...view.cost!, macs: SPLIT_MIN_MACS } });
}

/** A plain conv net on colour input ending in logits → softmax. */
function colourNet(shape: Shape): tf.LayersModel {
  const input = tf.input({ shape });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs });
}

/** As Keras applications end: a softmax Dense named `predictions`, no `logits` layer (a model XAI Lens did not build). */
function foreignNet(shape: Shape): tf.LayersModel {
  const input = tf.input({ shape });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'predictions', units: 5, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }).apply(x);
  return tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
}

function image([h, w, c]: Shape): Float32Array {
  const x = new Float32Array(h * w * c);
  let s = 987;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = (s >>> 8) / 2 ** 24;
  }
  return x;
}

function request(view: ModelViewImpl, options: Record<string, unknown>, signal?: AbortSignal): ExplainRequest {
  return { image: image(view.inputShape), shape: view.inputShape, target: 3, layer: view.defaultLayer, seed: 7, options, signal };
}

/** max |a − b| relative to max |a| (which must not be 0: an all-zero map would compare nothing). */
function relativeDiff(a: Attribution, b: Attribution): number {
  assert.ok(maxAbs(a.heatmap) > 0, `${a.method}: an all-zero map`);
  return maxAbsDiff(a.heatmap, b.heatmap) / maxAbs(a.heatmap);
}

// 20 samples in batches of 4: rounds of 8, 8 and 4 samples, each split in two.
const SG = { samples: 20, batch: 4, sigma: 0.2 };
const IG = { steps: 20, batch: 4 };
const HALVES = 3;

describe('explanations on two threads (SmoothGrad, Integrated Gradients, gradient counterfactual)', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend('wasm');
  });

  const nets = [['28×28×1 CBAM-MobileNetV2', [28, 28, 1], cbamNet], ['32×32×3 conv net', [32, 32, 3], colourNet], ['32×32×3 net without a logits layer', [32, 32, 3], foreignNet]] as const;
  for (const [name, shape, build] of nets) {
    it(`split between the threads equals one thread, and the worker serves the halves (${name})`, async () => {
      const model = build(shape as Shape);
      const view = createModelView(model);
      const replica = new ExplainReplica(model, 'wasm');
      try {
        const oneSg = await smoothGrad.explain(view, request(view, SG));
        const oneIg = await integratedGradients.explain(view, request(view, IG));
        await replica.ready;
        assert.equal(replica.error, undefined);
        view.secondThread = replica;
        const tensors = tf.memory().numTensors;
        const twoSg = await smoothGrad.explain(view, request(view, SG));
        assert.equal(replica.served, HALVES, 'SmoothGrad halves served by the worker');
        const twoIg = await integratedGradients.explain(view, request(view, IG));
        assert.equal(replica.served, 2 * HALVES, 'IG halves served by the worker');
        assert.ok(relativeDiff(oneSg, twoSg) <= 1e-5, `SmoothGrad differs by ${relativeDiff(oneSg, twoSg)} of its largest value`);
        assert.ok(relativeDiff(oneIg, twoIg) <= 1e-5, `IG differs by ${relativeDiff(oneIg, twoIg)} of its largest value`);
        assert.equal(twoIg.scores?.scoreDifference, oneIg.scores?.scoreDifference);
        assert.equal(tf.memory().numTensors, tensors, 'main-thread tensors');
        // The worker keeps nothing from one half to the next.
        const workerTensors = replica.workerTensors;
        await smoothGrad.explain(view, request(view, SG));
        assert.equal(replica.workerTensors, workerTensors, 'worker tensors');
      } finally {
        await replica.close();
        model.dispose();
      }
    });
  }

  it('each thread keeps to the memory budget: a batch cut to fit it bounds both halves', async () => {
    const model = colourNet([32, 32, 3]);
    const view = createModelView(model);
    const replica = new ExplainReplica(model, 'wasm');
    const previous = process.env.XAI_LENS_BATCH_MEMORY_MB;
    try {
      await replica.ready;
      const sizes: number[] = [];
      view.secondThread = {
        available: () => replica.available(),
        gradientSum: (images, n, target) => {
          sizes.push(n);
          assert.equal(images.length, n * 32 * 32 * 3);
          return replica.gradientSum(images, n, target);
        },
        laneGradient: (req) => replica.laneGradient(req),
      };
      // Room for 3.5 images per batch: 64 asked, 3 run, on each thread.
      process.env.XAI_LENS_BATCH_MEMORY_MB = String((3.5 * view.cost.bytesPerImage) / 2 ** 20);
      const r = await smoothGrad.explain(view, request(view, { samples: 20, batch: 64 }));
      assert.equal(r.scores?.batch, 3);
      assert.match(String(r.scores?.note), /ran batches of 3/);
      // Rounds of 6, 6, 6 and 2 samples: this thread computes the first 3, 3, 3, 1 of each, the worker the rest.
      assert.deepEqual(sizes, [3, 3, 3, 1]);
    } finally {
      if (previous === undefined) delete process.env.XAI_LENS_BATCH_MEMORY_MB;
      else process.env.XAI_LENS_BATCH_MEMORY_MB = previous;
      await replica.close();
      model.dispose();
    }
  });

  it('224×224×3 under a 2.5-image budget: both threads keep to batches of 2 and agree with one thread', async () => {
    const stages = [16, 24, 32, 64, 96].map((c, i) => ({ t: i ? 6 : 1, c, n: 1, s: i ? 2 : 1 }));
    const model = buildMobileNetV2({ inputShape: [224, 224, 3], numClasses: 10, alpha: 0.35, stages, topChannels: 32, seed: 5 });
    const previous = process.env.XAI_LENS_BATCH_MEMORY_MB;
    process.env.XAI_LENS_BATCH_MEMORY_MB = String(Math.ceil((2.5 * modelCost(model).bytesPerImage) / 2 ** 20));
    const view = createModelView(model);
    const replica = new ExplainReplica(model, 'wasm');
    try {
      const sg = { samples: 8, batch: 64 };
      const ig = { steps: 8, batch: 64 };
      const oneSg = await smoothGrad.explain(view, request(view, sg));
      const oneIg = await integratedGradients.explain(view, request(view, ig));
      await replica.ready;
      const sizes: number[] = [];
      view.secondThread = {
        available: () => replica.available(),
        gradientSum: (images, n, target) => {
          sizes.push(n);
          return replica.gradientSum(images, n, target);
        },
        laneGradient: (req) => {
          sizes.push(req.n);
          return replica.laneGradient(req);
        },
      };
      const twoSg = await smoothGrad.explain(view, request(view, sg));
      const twoIg = await integratedGradients.explain(view, request(view, ig));
      assert.equal(twoSg.scores?.batch, 2);
      // Rounds of 4 samples: 2 here, 2 there, twice per method.
      assert.deepEqual(sizes, [2, 2, 2, 2]);
      assert.ok(relativeDiff(oneSg, twoSg) <= 1e-5, `SmoothGrad differs by ${relativeDiff(oneSg, twoSg)}`);
      assert.ok(relativeDiff(oneIg, twoIg) <= 1e-5, `IG differs by ${relativeDiff(oneIg, twoIg)}`);
      // The counterfactual's lanes are cut to the budget first (explain.ts): 2 lanes, one per thread.
      sizes.length = 0;
      const cf = await gradientCounterfactualOn(asLarge(view), image(view.inputShape), view.inputShape, { maxIterations: 4, searchSteps: 1, parallel: 2 });
      assert.deepEqual(sizes, [1, 1, 1, 1]);
      assert.ok(cf.image.every(Number.isFinite));
    } finally {
      if (previous === undefined) delete process.env.XAI_LENS_BATCH_MEMORY_MB;
      else process.env.XAI_LENS_BATCH_MEMORY_MB = previous;
      await replica.close();
      model.dispose();
    }
  });

  for (const [name, file] of [['an ONNX', 'onnx/cnn28.onnx'], ['a TF.js graph', 'tfjs-graph/cnn32']] as const) {
    it(`${name} import, whose layers TF.js cannot rebuild from a topology, is imported again by the worker and agrees`, async () => {
      const imported = await importModel(join(packageRoot(), 'test', 'fixtures', 'models', file));
      const view = createModelView(imported.model);
      const fromTopology = new ExplainReplica(imported.model, 'wasm');
      const replica = new ExplainReplica(imported.model, 'wasm', imported.path);
      try {
        await fromTopology.ready;
        assert.ok(fromTopology.error, 'its topology alone does not rebuild it');
        const one = await smoothGrad.explain(view, request(view, SG));
        await replica.ready;
        assert.equal(replica.error, undefined);
        view.secondThread = replica;
        const two = await smoothGrad.explain(view, request(view, SG));
        assert.equal(replica.served, HALVES, 'SmoothGrad halves served by the worker');
        assert.ok(relativeDiff(one, two) <= 1e-5, `SmoothGrad differs by ${relativeDiff(one, two)} of its largest value`);
      } finally {
        await Promise.all([fromTopology.close(), replica.close()]);
        imported.model.dispose();
      }
    });
  }

  it('without a second thread, with XAI_LENS_THREADS=1, or when the worker fails, all of it runs here', async () => {
    const model = colourNet([32, 32, 3]);
    const view = createModelView(model);
    const replica = new ExplainReplica(model, 'wasm');
    try {
      const alone = await smoothGrad.explain(view, request(view, SG));
      await replica.ready;
      view.secondThread = replica;
      process.env.XAI_LENS_THREADS = '1';
      try {
        const off = await smoothGrad.explain(view, request(view, SG));
        assert.equal(replica.served, 0);
        assert.deepEqual(off.heatmap, alone.heatmap, 'the one-thread path, unchanged');
      } finally {
        delete process.env.XAI_LENS_THREADS;
      }
      // A worker that fails: its halves are computed here, and later rounds stay here.
      let calls = 0;
      let failed = false;
      view.secondThread = {
        available: () => !failed,
        gradientSum: async () => {
          calls++;
          failed = true;
          throw new Error('worker exited');
        },
        laneGradient: async () => {
          throw new Error('worker exited');
        },
      };
      const afterFailure = await integratedGradients.explain(view, request(view, IG));
      view.secondThread = undefined;
      const igAlone = await integratedGradients.explain(view, request(view, IG));
      assert.equal(calls, 1);
      assert.ok(relativeDiff(igAlone, afterFailure) <= 1e-5);
    } finally {
      await replica.close();
      model.dispose();
    }
  });

  it('a request cancelled while halves are out stops sending them, and leaks nothing', async () => {
    const model = colourNet([32, 32, 3]);
    const view = createModelView(model);
    const replica = new ExplainReplica(model, 'wasm');
    try {
      await replica.ready;
      const ctl = new AbortController();
      let sent = 0;
      // The cancel arrives while the first half is on the worker, as an RPC cancel would.
      const peer: GradientPeer = {
        available: () => replica.available(),
        gradientSum: (images, n, target) => {
          sent++;
          const r = replica.gradientSum(images, n, target);
          if (sent === 1) void r.then(() => ctl.abort());
          return r;
        },
        laneGradient: (req) => replica.laneGradient(req),
      };
      view.secondThread = peer;
      const tensors = tf.memory().numTensors;
      await assert.rejects(smoothGrad.explain(view, request(view, { ...SG, samples: 40 }, ctl.signal)), /cancelled/);
      assert.equal(sent, 1, 'halves sent after the cancel');
      assert.equal(replica.served, 1);
      assert.equal(tf.memory().numTensors, tensors, 'main-thread tensors');
      assert.ok(replica.available(), 'the worker is free for the next request');
    } finally {
      await replica.close();
      model.dispose();
    }
  });

  for (const [name, shape, build] of [['28×28×1 CBAM-MobileNetV2', [28, 28, 1], cbamNet], ['32×32×3 conv net', [32, 32, 3], colourNet]] as const) {
    it(`gradient counterfactual: lanes split between the threads give the one-thread result (${name})`, async () => {
      const model = build(shape as Shape);
      const view = createModelView(model);
      const replica = new ExplainReplica(model, 'wasm');
      const x = image(view.inputShape);
      // 2 rounds of 5 steps, 4 lanes: every step sends 2 lanes to the worker.
      const opts = { maxIterations: 10, searchSteps: 2, parallel: 4, seed: 1 };
      try {
        const one = gradientCounterfactual(view.scores, view.probabilities, x, view.inputShape, opts);
        await replica.ready;
        view.secondThread = replica;
        const tensors = tf.memory().numTensors;
        const small = await gradientCounterfactualOn(view, x, view.inputShape, opts);
        assert.equal(replica.served, 0, 'a small model\'s steps stay on one thread');
        assert.deepEqual(small.image, one.image);
        const two = await gradientCounterfactualOn(asLarge(view), x, view.inputShape, opts);
        assert.equal(replica.served, 10, 'lane halves served by the worker');
        assert.equal(tf.memory().numTensors, tensors, 'main-thread tensors');
        assert.equal(two.found, one.found);
        assert.equal(two.label, one.label);
        assert.ok(maxAbsDiff(one.image, two.image) <= 1e-4, `images differ by ${maxAbsDiff(one.image, two.image)}`);
        // Three lanes split 2 + 1 would take as long as four: the split search runs two.
        const odd = await gradientCounterfactualOn(asLarge(view), x, view.inputShape, { ...opts, parallel: 3 });
        const even = gradientCounterfactual(view.scores, view.probabilities, x, view.inputShape, { ...opts, parallel: 2 });
        if (odd.found) assert.equal(odd.lanes, 2);
        assert.ok(maxAbsDiff(odd.image, even.image) <= 1e-4, `3 lanes split vs 2 lanes: ${maxAbsDiff(odd.image, even.image)}`);
        // Cancelled after the first step's lanes: no further lanes go out.
        const ctl = new AbortController();
        let sent = 0;
        view.secondThread = {
          available: () => replica.available(),
          gradientSum: (images, n, target) => replica.gradientSum(images, n, target),
          laneGradient: (req) => {
            sent++;
            const r = replica.laneGradient(req);
            void r.then(() => ctl.abort());
            return r;
          },
        };
        await assert.rejects(gradientCounterfactualOn(asLarge(view), x, view.inputShape, { ...opts, signal: ctl.signal }), /cancelled/);
        assert.equal(sent, 1);
        assert.equal(tf.memory().numTensors, tensors, 'main-thread tensors after the cancel');
      } finally {
        await replica.close();
        model.dispose();
      }
    });
  }

  it('the engine process starts a second thread for a model only when an explanation splits gradients, and closes it with the model', async () => {
    const service = new EngineService();
    await service.initialize({ backend: 'wasm' });
    const modelDir = defaultModelDir();
    const imagePath = join(packageRoot(), 'media', 'samples', 'digit-7.png');
    try {
      await service.explain({ modelDir, imagePath, methods: ['gradcam'], counterfactual: 'none' });
      assert.equal(service.secondThreadOf(modelDir), undefined, 'Grad-CAM alone needs no second thread');
      const methodOptions = { smoothgrad: { samples: 8, batch: 2 } };
      // The first run does not wait for the worker to load: it computes alone until it is ready.
      const first = await service.explain({ modelDir, imagePath, methods: ['gradcam', 'smoothgrad'], counterfactual: 'none', methodOptions });
      const replica = service.secondThreadOf(modelDir);
      assert.ok(replica, 'started by the first explanation with SmoothGrad');
      await replica.ready;
      assert.equal(replica.error, undefined);
      const served = replica.served;
      const second = await service.explain({ modelDir, imagePath, methods: ['smoothgrad'], counterfactual: 'none', methodOptions });
      assert.equal(replica.served - served, 2, 'two rounds of 4 samples, one half each on the worker');
      assert.equal(service.secondThreadOf(modelDir), replica, 'one per model');
      const [a, b] = [first, second].map((r) => r.methods.find((x) => x.method === 'smoothgrad')!.data);
      assert.ok(maxAbsDiff(a, b) <= 1e-5 * maxAbs(a), 'the same map whichever thread computed it');
      service.dispose();
      assert.equal(replica.available(), false, 'closed with the model');
      // The gradient counterfactual alone asks for one too; a model this small (5 M MACs) keeps its steps here.
      await service.explain({ modelDir, imagePath, methods: ['gradcam'], counterfactual: 'gradient' });
      const again = service.secondThreadOf(modelDir);
      assert.ok(again && again !== replica);
      await again.ready;
      const before = again.served; // the first run may have used it already, once it was loaded
      await service.explain({ modelDir, imagePath, methods: ['gradcam'], counterfactual: 'gradient', counterfactualOptions: { maxIterations: 4, searchSteps: 1 } });
      assert.equal(again.served - before, 0, 'below SPLIT_MIN_MACS the counterfactual stays on one thread');
    } finally {
      service.dispose();
    }
  });
});
