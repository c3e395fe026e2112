/**
 * ONNX import: the committed torch exports (scripts/fixtures/make_onnx.py) executed as TensorFlow.js ops agree with
 * onnxruntime-node (CPU) within 1e-4, at 28×28×1, 224×224×3 and an NHWC-input export; gradients flow; the 4-D
 * intermediate tensors are layers the explainers can probe.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/engine/backend/backends';
import { importOnnx, samePads } from '../../src/engine/io/onnx/onnxModel';
import { createModelView } from '../../src/engine/explain/modelView';
import { exportOnnx } from '../../src/engine/native/onnxExport';
import { getArchitecture } from '../../src/engine/models/zoo';
import { countMacs } from '../../src/engine/models/modelStats';
import { maxAbsDiff } from './helpers';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'onnx');

/** Seeded uniform [0, 1) images, NHWC. */
function images(n: number, h: number, w: number, c: number, seed = 3): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * h * w * c }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  });
}

function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let k = 0; k < c; k++) {
    out[((b * c + k) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + k];
  }
  return out;
}

async function reference(file: string, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  return out[session.outputNames[0]].data as Float32Array;
}

describe('ONNX import', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('reads explicit Conv pads that equal TF.js \'same\' padding as \'same\' (no Pad op), and only those', () => {
    assert.equal(samePads([224, 224], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), true, 'PyTorch 3×3, stride 1');
    assert.equal(samePads([224, 224], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]), false, 'stride 2 on an even size: TF.js pads 0 before, 1 after');
    assert.equal(samePads([224, 224], [3, 3], [2, 2], [1, 1], [0, 0, 1, 1]), true);
    assert.equal(samePads([7, 7], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]), true, 'stride 2 on an odd size');
    assert.equal(samePads([9, 9], [3, 3], [1, 1], [2, 2], [2, 2, 2, 2]), true, 'dilation 2');
    assert.equal(samePads([9, 9], [1, 1], [1, 1], [1, 1], [0, 0, 0, 0]), true);
    assert.equal(samePads([9, 9], [5, 3], [1, 1], [1, 1], [2, 1, 2, 1]), true, 'a 5×3 kernel');
    assert.equal(samePads([9, 9], [5, 3], [1, 1], [1, 1], [1, 2, 1, 2]), false, 'pads of the other axis');
  });

  it('counts the multiply-accumulates of Conv, Gemm and MatMul nodes: a MobileNetV2 exported to ONNX costs what its source does', () => {
    const source = getArchitecture('mobilenetv2').build({ inputShape: [32, 32, 3], numClasses: 10, options: { alpha: 0.35 }, seed: 3 });
    const imp = importOnnx(exportOnnx(source));
    try {
      const macs = countMacs(source);
      assert.ok(macs > 1e6);
      assert.equal(countMacs(imp.model), macs);
    } finally {
      imp.model.dispose();
      source.dispose();
    }
  });

  const cases = [
    { file: 'cnn28.onnx', shape: [28, 28, 1], layout: 'NCHW', classes: 10 },
    { file: 'cnn224.onnx', shape: [224, 224, 3], layout: 'NCHW', classes: 5 },
    { file: 'nhwc32.onnx', shape: [32, 32, 3], layout: 'NHWC', classes: 4 },
  ] as const;
  for (const c of cases) {
    it(`${c.file}: TF.js execution matches onnxruntime within 1e-4 (batch of 3)`, async () => {
      const path = join(FIXTURES, c.file);
      const imp = importOnnx(readFileSync(path));
      try {
        assert.equal(imp.inputLayout, c.layout);
        assert.deepEqual(imp.model.inputs[0].shape, [null, ...c.shape]);
        const [h, w, ch] = c.shape;
        const x = images(3, h, w, ch);
        const ours = tf.tidy(() => imp.model.predict(tf.tensor4d(x, [3, h, w, ch])) as tf.Tensor).dataSync() as Float32Array;
        const ref = await reference(path, c.layout === 'NCHW' ? nhwcToNchw(x, 3, h, w, ch) : x, c.layout === 'NCHW' ? [3, ch, h, w] : [3, h, w, ch]);
        assert.equal(ours.length, 3 * c.classes);
        const diff = maxAbsDiff(ours, ref);
        assert.ok(diff <= 1e-4, `max difference ${diff}`);
      } finally {
        imp.model.dispose();
      }
    });
  }

  it('exposes 4-D intermediate tensors with NHWC sizes, and input gradients flow', () => {
    const imp = importOnnx(readFileSync(join(FIXTURES, 'cnn224.onnx')));
    const view = createModelView(imp.model);
    try {
      const sizes = view.spatialLayers.map((l) => l.shape.join('x'));
      assert.ok(sizes.includes('112x112x6'), sizes.join(' '));
      assert.ok(sizes.includes('14x14x10'), sizes.join(' '));
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.slice(view.scores(x as tf.Tensor4D), [0, 1], [1, 1])))(tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 7)));
      const norm = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
      g.dispose();
      assert.ok(Number.isFinite(norm) && norm > 0, `gradient norm ${norm}`);
    } finally {
      view.dispose();
      imp.model.dispose();
    }
  });
});
