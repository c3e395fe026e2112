import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { loadMnist, splitTrainVal, subset } from '../../src/engine/data/datasets';
import { Replica, createParallelTrainStep, predictInTwoThreads } from '../../src/engine/parallel/replica';
import { flatten } from '../../src/engine/parallel/protocol';
import { predictProbabilities } from '../../src/engine/inference';
import { createTrainStep, oneCycleLearningRate, train, type TrainEvent } from '../../src/engine/training/trainer';
import { buildMobileNetV2 } from '../../src/engine/models/mobilenetv2';
import { getArchitecture } from '../../src/engine/models/zoo';
import { tempDir } from './helpers';

/** A small conv net without batch norm or dropout: one step on a whole batch must equal the two-thread step. */
function tinyNet(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs });
}

function batch(n: number, per = 64): { images: Float32Array; labels: Int32Array } {
  const images = new Float32Array(n * per);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    images[i] = (s >>> 8) / 2 ** 24;
  }
  return { images, labels: Int32Array.from({ length: n }, (_, i) => (i * 7) % 3) };
}

function weightsOf(model: tf.LayersModel): Float32Array {
  return flatten(model.trainableWeights.map((w) => w.read()));
}

describe('two-thread training', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('one-cycle schedule: linear warm-up to the peak, cosine to zero at the last step', () => {
    assert.equal(oneCycleLearningRate(0, 100, 10, 1), 0.1);
    assert.equal(oneCycleLearningRate(9, 100, 10, 1), 1);
    assert.ok(Math.abs(oneCycleLearningRate(54, 100, 10, 1) - 0.5) < 1e-12, 'half way down the cosine');
    assert.ok(Math.abs(oneCycleLearningRate(99, 100, 10, 1)) < 1e-12);
    for (let s = 10; s < 99; s++) assert.ok(oneCycleLearningRate(s + 1, 100, 10, 1) < oneCycleLearningRate(s, 100, 10, 1));
  });

  it('a step split over two threads equals one step on the whole batch (odd batch, Adam)', async () => {
    const a = tinyNet();
    const b = tinyNet();
    const optA = tf.train.adam(0.01);
    const optB = tf.train.adam(0.01);
    const single = createTrainStep(a, optA, [8, 8, 1], 3);
    const peer = await Replica.start(b, 'wasm', [8, 8, 1], 3);
    try {
      const parallel = createParallelTrainStep(b, optB, [8, 8, 1], 3, peer);
      for (const n of [9, 16, 1]) {
        const { images, labels } = batch(n);
        const [lossA, correctA] = single(images, labels, n);
        const [lossB, correctB] = await parallel(images, labels, n);
        assert.ok(Math.abs(lossA - lossB) < 1e-5, `batch ${n}: loss ${lossA} vs ${lossB}`);
        assert.equal(correctA, correctB);
      }
      const [wa, wb] = [weightsOf(a), weightsOf(b)];
      let worst = 0;
      for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i] - wb[i]));
      assert.ok(worst < 1e-5, `weights differ by ${worst} after three steps`);
      // Neither thread keeps tensors from one step to the next.
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { images, labels } = batch(6);
        const w = weightsOf(b);
        const r = await peer.request({ type: 'gradients', weights: w, images, labels, n: 6 });
        assert.equal(r.type, 'gradients');
        if (r.type === 'gradients') counts.push(r.numTensors);
        await parallel(images, labels, 6);
      }
      assert.equal(counts[2], counts[0], `worker tensors ${counts.join(' → ')}`);
      assert.equal(tf.memory().numTensors, before, 'main-thread tensors');
    } finally {
      await peer.close();
      a.dispose();
      b.dispose();
    }
  });

  it('an error in the worker rejects the step with its message, and the worker keeps serving', async () => {
    const model = tinyNet();
    const peer = await Replica.start(model, 'wasm', [8, 8, 1], 3);
    try {
      const { images, labels } = batch(4);
      await assert.rejects(peer.request({ type: 'gradients', weights: new Float32Array(3), images, labels, n: 4 }), /^XaiLensError: second engine thread: expected \d+ weight values, got 3/);
      const parallel = createParallelTrainStep(model, tf.train.adam(0.01), [8, 8, 1], 3, peer);
      const [loss] = await parallel(images, labels, 4);
      assert.ok(Number.isFinite(loss) && loss > 0);
    } finally {
      await peer.close();
      model.dispose();
    }
  });

  it('trains a run with two threads and the one-cycle schedule; the card records both', async () => {
    const tmp = tempDir();
    try {
      const full = await loadMnist('train');
      const { train: t, val } = splitTrainVal(subset(full, Array.from({ length: 1200 }, (_, i) => i)), 1 / 6, 1);
      const events: TrainEvent[] = [];
      for await (const ev of train({
        architecture: 'cbam-mobilenetv2', dataSpec: 'mnist', train: t, validation: val, outDir: join(tmp.dir, 'run'), epochs: 2,
        batchSize: 32, learningRate: 4e-3, modelOptions: { alpha: 0.5, stemStride: '2' }, seed: 5, backend: 'wasm', progressIntervalMs: 0,
        augmentation: false, schedule: 'one-cycle', warmupEpochs: 1, threads: 2,
      })) events.push(ev);
      const epochs = events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch').map((e) => e.record);
      assert.equal(epochs.length, 2);
      assert.ok(epochs[1].trainLoss < epochs[0].trainLoss, 'training loss falls');
      assert.ok(epochs[1].trainAccuracy > 0.3, `training accuracy ${epochs[1].trainAccuracy} (chance: 0.1)`);
      assert.equal(epochs[0].learningRate, 4e-3, 'the rate peaks at the end of the warm-up epoch');
      assert.ok(epochs[1].learningRate < 1e-6, 'and reaches zero at the last step');
      const card = (events[events.length - 1] as Extract<TrainEvent, { type: 'done' }>).card;
      assert.equal(card.training.threads, 2);
      assert.match(card.training.schedule, /^one-cycle\(peak=0\.004, warm-up=1 epoch, cosine to 0 at epoch 2\)$/);
    } finally {
      tmp.cleanup();
    }
  });

  it('prediction split over two threads equals prediction on one (batch-norm model, odd count)', async () => {
    const model = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, stemStride: '2', attach: 'every' }, seed: 2 });
    // Moving statistics other than the initial 0 / 1, so that the worker must receive them to agree.
    for (const w of model.weights) if (/moving_(mean|variance)/.test(w.name)) w.write(tf.fill(w.shape as number[], w.name.includes('mean') ? 0.1 : 2));
    const n = 37;
    const src = { images: batch(n, 784).images, count: n, shape: [28, 28, 1] as [number, number, number] };
    const replica = await Replica.start(model, 'wasm', [28, 28, 1], 10);
    try {
      const one = predictProbabilities(model, src, 16);
      const two = await predictInTwoThreads(model, src, 16, replica);
      assert.equal(two.length, one.length);
      let worst = 0;
      for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - two[i]));
      assert.ok(worst < 1e-6, `probabilities differ by ${worst}`);
    } finally {
      await replica.close();
      model.dispose();
    }
  });

  it('dropout draws a new mask on every training call', () => {
    const model = buildMobileNetV2({ alpha: 0.35, stemStride: 2, seed: 1 });
    const dropout = model.getLayer('dropout');
    const x = tf.ones([4, 64]);
    const m1 = (dropout.apply(x, { training: true }) as tf.Tensor).dataSync();
    const m2 = (dropout.apply(x, { training: true }) as tf.Tensor).dataSync();
    assert.notDeepEqual(Array.from(m1), Array.from(m2));
    model.dispose();
    x.dispose();
  });
});
