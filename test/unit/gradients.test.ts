/**
 * The training fast paths against the stock TensorFlow.js definitions they replace, and whole-model gradient parity
 * between the wasm backend (with this project's kernels) and the pure-JS cpu reference.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { batchNormTraining } from '../../src/engine/backend/fastLayers';
import { getArchitecture } from '../../src/engine/models/zoo';
import { maxAbs, maxAbsDiff } from './helpers';

function withBackend<T>(name: string, f: () => T): Promise<T> {
  return tf.setBackend(name).then(() => f());
}

describe('training gradients', () => {
  before(async () => {
    await initBackend('wasm'); // installs the fast paths and kernels
    await initBackend('cpu');
  });

  it('fused batch norm matches moments + batchNorm in value and gradients', () => {
    const x = tf.randomNormal([3, 5, 4, 6], 1, 2, 'float32', 1);
    const g = tf.randomNormal([6], 1, 0.5, 'float32', 2) as tf.Tensor1D;
    const b = tf.randomNormal([6], 0, 0.5, 'float32', 3) as tf.Tensor1D;
    const w = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4);
    const stock = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-3), w));
    };
    const fused = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3).y, w));
    assert.ok(Math.abs(stock(x, g, b).dataSync()[0] - fused(x, g, b).dataSync()[0]) < 1e-3);
    const gs = tf.grads(stock)([x, g, b]);
    const gf = tf.grads(fused)([x, g, b]);
    gs.forEach((t, i) => assert.ok(maxAbsDiff(t.dataSync(), gf[i].dataSync()) < 1e-5 * Math.max(1, maxAbs(t.dataSync())), `input ${i}`));
  });

  it('the BatchNormalization layer in training mode updates moving statistics as tfjs-layers does', () => {
    const layer = tf.layers.batchNormalization({ momentum: 0.9 });
    const x = tf.randomNormal([8, 3, 3, 4], 2, 3, 'float32', 7);
    layer.apply(x, { training: true });
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const [, , movingMean, movingVar] = layer.getWeights();
    // moving = 0.9 * initial + 0.1 * batch, initial mean 0 and variance 1.
    assert.ok(maxAbsDiff(movingMean.dataSync(), tf.mul(mean, 0.1).dataSync()) < 1e-5);
    assert.ok(maxAbsDiff(movingVar.dataSync(), tf.add(tf.mul(variance, 0.1), 0.9).dataSync()) < 1e-4);
  });

  it('Max and Min gradients route dy to every extremum', () => {
    const x = tf.tensor2d([[1, 3, 3], [5, 2, 5]]);
    assert.deepEqual(Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.max(t, 1)))(x).dataSync()), [0, 1, 1, 1, 0, 1]);
    assert.deepEqual(Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.min(t, 0)))(x).dataSync()), [1, 0, 1, 0, 1, 0]);
  });

  it('relu6 activation keeps its values and gradient', () => {
    const layer = tf.layers.activation({ activation: 'relu6' });
    const x = tf.tensor1d([-2, 0.5, 5.9, 6.5, 9]);
    assert.deepEqual(Array.from((layer.apply(x) as tf.Tensor).dataSync()), [0, 0.5, 5.900000095367432, 6, 6]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(x);
    assert.deepEqual(Array.from(g.dataSync()), [0, 1, 1, 0, 0]);
    // The tfjs definition at the kinks: 0 at x = 0, dy at x = 6.
    const k = tf.tensor1d([0, 6, 3, -0.001, 6.001]);
    const dy = tf.tensor1d([2, 3, -4, 5, 6]);
    assert.deepEqual(Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu6(t), dy)))(k).dataSync()), [0, 3, -4, 0, 0]);
  });

  it('a ReLU layer with maxValue 6 runs the Relu6 kernel: the stock values and gradient, without the comparison passes', async () => {
    const layer = tf.layers.reLU({ maxValue: 6 });
    const capped = tf.layers.reLU({ maxValue: 4 });
    const x = tf.tensor1d([-2, 0, 0.5, 5.9, 6, 6.5, 9]);
    const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
    const stock = (t: tf.Tensor, max: number) => tf.clipByValue(tf.relu(t), 0, max);
    assert.deepEqual(Array.from((layer.apply(x) as tf.Tensor).dataSync()), Array.from(stock(x, 6).dataSync()));
    const grad = (f: (t: tf.Tensor) => tf.Tensor) => Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x).dataSync());
    assert.deepEqual(grad((t) => layer.apply(t) as tf.Tensor), grad((t) => stock(t, 6)));
    assert.deepEqual(grad((t) => layer.apply(t) as tf.Tensor), [0, 0, 3, 4, 5, 0, 0]);
    const kernels = async (l: tf.layers.Layer) => (await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(l.apply(t) as tf.Tensor))(x))).kernelNames;
    const six = await kernels(layer);
    assert.ok(six.includes('Relu6') && !six.includes('LogicalAnd'), six.join(', '));
    // Another cap keeps the stock clip.
    assert.deepEqual(Array.from((capped.apply(x) as tf.Tensor).dataSync()), Array.from(stock(x, 4).dataSync()));
    assert.ok((await kernels(capped)).includes('ClipByValue'));
  });

  it('a bias-free linear Conv2D layer runs the plain conv op: same values and gradients as the fused op', async () => {
    const layer = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) });
    const x = tf.randomNormal([2, 7, 7, 2], 0, 1, 'float32', 5);
    const y = layer.apply(x) as tf.Tensor;
    const kernel = layer.getWeights()[0] as tf.Tensor4D;
    const fused = (xx: tf.Tensor, kk: tf.Tensor) => tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: kk as tf.Tensor4D, strides: 2, pad: 'same' });
    assert.ok(maxAbsDiff(y.dataSync(), fused(x, kernel).dataSync()) < 1e-5);
    const w = tf.randomNormal(y.shape, 0, 1, 'float32', 6);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, w)))(x);
    const [dxFused, dkFused] = tf.grads((xx: tf.Tensor, kk: tf.Tensor) => tf.sum(tf.mul(fused(xx, kk), w)))([x, kernel]);
    assert.ok(maxAbsDiff(dx.dataSync(), dxFused.dataSync()) < 1e-5);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar, [layer.trainableWeights[0].read() as tf.Variable]);
    assert.ok(maxAbsDiff(Object.values(grads)[0].dataSync(), dkFused.dataSync()) < 1e-4);
    const kernels = (await tf.profile(() => layer.apply(x) as tf.Tensor)).kernels.map((k) => k.name);
    assert.deepEqual(kernels, ['Conv2D']);
  });

  it('whole-model gradients of cbam-mobilenetv2 on wasm match the cpu backend', async () => {
    const n = 4;
    const x = Float32Array.from({ length: n * 28 * 28 }, (_, i) => ((i * 7919) % 1000) / 1000);
    const labels = tf.oneHot(tf.tensor1d([1, 3, 5, 7], 'int32'), 10);
    const labelData = labels.dataSync().slice();
    const gradientsOn = async (backend: string) =>
      withBackend(backend, () => {
        const model = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.5 }, dropout: 0, seed: 11 });
        const logits = tf.model({ inputs: model.inputs, outputs: model.getLayer('logits').output as tf.SymbolicTensor });
        const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
        const xs = tf.tensor4d(x, [n, 28, 28, 1]);
        const ys = tf.tensor2d(labelData, [n, 10]);
        // Training mode, as in a real step (batch statistics, i.e. the fused batch norm); no dropout, whose masks are random.
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(ys, logits.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, vars);
        const out = vars.map((v) => ({ name: v.name.replace(/_\d+(?=\/)/, ''), values: grads[v.name].dataSync().slice() }));
        model.dispose();
        return out;
      });
    const cpu = await gradientsOn('cpu');
    const wasm = await gradientsOn('wasm');
    assert.equal(cpu.length, wasm.length);
    // Differences are judged against the largest gradient in the model: per-tensor relative error is meaningless for
    // tensors whose gradient is a near-cancelling sum (batch-norm offsets right after initialisation).
    const scale = Math.max(...cpu.map((g) => maxAbs(g.values)));
    let worst = 0;
    let where = '';
    for (let i = 0; i < cpu.length; i++) {
      const d = maxAbsDiff(cpu[i].values, wasm[i].values);
      if (process.env.XAI_DEBUG) console.log(cpu[i].name, d.toExponential(2), maxAbs(cpu[i].values).toExponential(2));
      if (d > worst) [worst, where] = [d, cpu[i].name];
    }
    assert.ok(scale > 1e-2, `gradients too small to compare (${scale})`);
    assert.ok(worst / scale < 1e-4, `worst gradient difference ${worst} at ${where}, largest gradient ${scale}`);
    await tf.setBackend('cpu');
  });
});
