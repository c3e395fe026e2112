/**
 * The model zoo: the generated list of architectures, option schemas, the backbones' standard parameter counts at
 * 224×224×3 and their small-input geometry, and for every backbone × attention combination: builds at 28×28×1,
 * 32×32×3 and 224×224×3, save → load round trip, training steps on wasm with gradients matching the cpu backend,
 * and Grad-CAM on the default layer. Tiny widths and batches of 2-4 keep it fast.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { ARCHITECTURES, ATTACH_OPTION, ATTENTIONS, BACKBONES, getArchitecture, type Architecture, type ImageShape3 } from '../../src/engine/models/zoo';
import { computeGradients, logitsModel } from '../../src/engine/training/gradients';
import { loadModel, saveModel } from '../../src/engine/io/modelFolder';
import { createModelView } from '../../src/engine/explain/modelView';
import { getExplainer } from '../../src/engine/explain/registry';
import { resolveOptions } from '../../src/engine/options';
import { maxAbs, maxAbsDiff, tempDir } from './helpers';

/** Tiny widths (every backbone has `alpha`); no drop-connect, whose masks are random, where gradients are compared. */
function tiny(arch: Architecture, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alpha: 0.125, ...('dropConnect' in arch.options ? { dropConnect: 0 } : {}), ...extra };
}

/**
 * parityNote: ResNet50's wasm gradients differ from the cpu backend's by up to ~4 % of the largest gradient (at
 * conv1_conv, alpha 0.125, batch 4), while every kernel it uses matches cpu to 1e-5 (wasmKernels.test.ts) and its
 * forward activations drift from 1e-6 at the stem to 1e-4 at conv5: float32 summation-order differences amplified
 * through 53 training-mode batch norms at initialisation. Its cpu reference also takes minutes on the pure-JS backend.
 */
function trainableCount(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]), 0);
}

/** The last 4-D layer's output [h, w, c]: the map the classifier pools. */
function finalMap(model: tf.LayersModel): number[] {
  const spatial = model.layers.filter((l) => (l.outputShape as number[]).length === 4);
  return (spatial[spatial.length - 1].outputShape as number[]).slice(1);
}

/** Deterministic images in [0, 1). */
function images(n: number, [h, w, c]: ImageShape3, salt = 7919): Float32Array {
  return Float32Array.from({ length: n * h * w * c }, (_, i) => ((i * salt) % 1000) / 1000);
}

describe('model zoo', function () {
  this.timeout(300_000);
  const tmp = tempDir();
  before(async () => {
    await initBackend('wasm'); // the project's kernels
    await initBackend('cpu');
    await tf.setBackend('wasm');
  });
  after(() => tmp.cleanup());

  it('declares four backbones and generates every backbone × {none, each attention kind}', () => {
    assert.deepEqual(BACKBONES.map((b) => b.id), ['mobilenetv2', 'efficientnetb0', 'resnet50', 'vgg16']);
    assert.deepEqual(ARCHITECTURES.map((a) => a.id), BACKBONES.flatMap((b) => [b.id, ...ATTENTIONS.map((a) => `${a.id}-${b.id}`)]));
    assert.equal(ARCHITECTURES.length, BACKBONES.length * (ATTENTIONS.length + 1));
    assert.equal(getArchitecture('CBAM-ResNet50').backbone.id, 'resnet50');
  });

  it('option keys: no backbone option collides with an attention kind\'s or attach; a key shared by backbones means one thing', () => {
    for (const b of BACKBONES) {
      for (const a of ATTENTIONS) {
        const clash = Object.keys(b.options).filter((k) => k in a.options || k in ATTACH_OPTION);
        assert.deepEqual(clash, [], `${b.id} × ${a.id}`);
      }
    }
    for (const a of ATTENTIONS) assert.deepEqual(Object.keys(a.options).filter((k) => k in ATTACH_OPTION), [], a.id);
    // The CLI has one flag per key for all architectures, so a shared key must have one type, range and value set.
    const seen = new Map<string, string>();
    for (const b of BACKBONES) {
      for (const [key, spec] of Object.entries(b.options)) {
        const { description: _d, default: _v, ...shape } = spec;
        const prior = seen.get(key);
        if (prior !== undefined) assert.equal(JSON.stringify(shape), prior, `${b.id}: option ${key}`);
        seen.set(key, JSON.stringify(shape));
      }
    }
    assert.throws(() => getArchitecture('vgg16').build({ inputShape: [28, 28, 1], numClasses: 2, options: { stemStride: '2' } }),
      /vgg16: unknown option --stem-stride \(options: alpha, batch-norm, head\)/);
    // bench:zoo's widths are options of their own backbone, within its schema.
    for (const b of BACKBONES) if (b.zooOptions) resolveOptions(b.options, b.zooOptions, b.id);
  });

  it('standard geometry (224×224×3, 1000 classes, width 1): the published parameter counts, a 7×7 final map', () => {
    const cases: { id: string; options?: Record<string, unknown>; total: number; trainable?: number; channels: number }[] = [
      // Keras' MobileNetV2 (alpha 1, include_top).
      { id: 'mobilenetv2', total: 3_538_984, channels: 1280 },
      // Keras' EfficientNetB0 has 5,330,571: the same layers plus its input Normalization layer's 7 weights.
      { id: 'efficientnetb0', total: 5_330_564, channels: 1280 },
      // torchvision's 25,557,032 parameters plus the batch norms' 53,120 moving statistics (Keras counts both).
      { id: 'resnet50', total: 25_610_152, trainable: 25_557_032, channels: 2048 },
      // The 13 convolutions (14,714,688) and a GAP head (513,000); the paper's FC head is in docs/zoo-architectures.md.
      { id: 'vgg16', options: { batchNorm: false }, total: 15_227_688, trainable: 15_227_688, channels: 512 },
    ];
    for (const c of cases) {
      const m = getArchitecture(c.id).build({ inputShape: [224, 224, 3], numClasses: 1000, options: c.options, seed: 1 });
      assert.equal(m.countParams(), c.total, c.id);
      if (c.trainable !== undefined) assert.equal(trainableCount(m), c.trainable, `${c.id} trainable`);
      assert.deepEqual(finalMap(m), [7, 7, c.channels], c.id);
      m.dispose();
    }
  });

  it('small inputs: strides follow the input size, parameter counts do not', () => {
    const expected: Record<string, { s28: number; s28stem2: number; s32: number; s64: number; s96: number }> = {
      mobilenetv2: { s28: 7, s28stem2: 7, s32: 8, s64: 2, s96: 3 }, // the paper's layout above 32 px: input / 32
      efficientnetb0: { s28: 7, s28stem2: 7, s32: 8, s64: 8, s96: 12 },
      resnet50: { s28: 7, s28stem2: 7, s32: 8, s64: 8, s96: 12 },
      vgg16: { s28: 7, s28stem2: 7, s32: 8, s64: 8, s96: 12 },
    };
    for (const b of BACKBONES) {
      const arch = getArchitecture(b.id);
      const side = (shape: ImageShape3, options: Record<string, unknown> = {}) => {
        const m = arch.build({ inputShape: shape, numClasses: 10, options: tiny(arch, options) });
        const map = finalMap(m);
        const params = m.countParams();
        m.dispose();
        return { side: map[0], params };
      };
      const e = expected[b.id];
      const s28 = side([28, 28, 3]);
      assert.equal(s28.side, e.s28, `${b.id} 28`);
      if ('stemStride' in b.options) assert.equal(side([28, 28, 3], { stemStride: '2' }).side, e.s28stem2, `${b.id} 28, stem stride 2`);
      assert.equal(side([32, 32, 3]).side, e.s32, `${b.id} 32`);
      assert.equal(side([64, 64, 3]).side, e.s64, `${b.id} 64`);
      const s96 = side([96, 96, 3]);
      assert.equal(s96.side, e.s96, `${b.id} 96`);
      // MobileNetV2 trims its stages for inputs up to 32 px; the others only change strides.
      if (b.id !== 'mobilenetv2') assert.equal(s28.params, s96.params, `${b.id}: same parameters at 28 and 96 px`);
    }
  });

  it('ResNet50 at 28×28: full-resolution stem without max-pool, stages at 14, 7, 7, 7', () => {
    const m = getArchitecture('resnet50').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.125 } });
    assert.deepEqual(m.getLayer('conv1_conv').outputShape, [null, 28, 28, 8]);
    assert.deepEqual(m.getLayer('pool1_pool').outputShape, [null, 14, 14, 8]);
    assert.deepEqual(['conv2', 'conv3', 'conv4', 'conv5'].map((s) => (m.layers.filter((l) => l.name.startsWith(`${s}_`)).pop()!.outputShape as number[])[1]), [14, 7, 7, 7]);
    assert.equal(m.layers.filter((l) => l.name.endsWith('_add')).length, 16);
    m.dispose();
  });

  it('EfficientNetB0: drop-connect rates rise over the blocks; a drop keeps or zeroes a whole sample, identity at inference', () => {
    const m = getArchitecture('efficientnetb0').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.25 } });
    const drops = m.layers.filter((l) => l.name.endsWith('_drop'));
    // Residual blocks are those whose input and output match (9 of 16); block k (from 0) drops at 0.2·k/16.
    assert.deepEqual(drops.map((l) => l.name), ['block2b_drop', 'block3b_drop', 'block4b_drop', 'block4c_drop', 'block5b_drop', 'block5c_drop', 'block6b_drop', 'block6c_drop', 'block6d_drop']);
    assert.deepEqual(drops.map((l) => l.getConfig().rate), [2, 4, 6, 7, 9, 10, 12, 13, 14].map((k) => (0.2 * k) / 16));
    const layer = m.getLayer('block6d_drop');
    const x = tf.ones([400, 2, 2, 3]);
    const y = (layer.apply(x, { training: true }) as tf.Tensor).arraySync() as number[][][][];
    const keep = 1 - 0.2 * 14 / 16;
    let dropped = 0;
    for (const sample of y) {
      const values = sample.flat(2);
      const v = values[0];
      assert.ok(values.every((u) => u === v), 'one draw per sample');
      assert.ok(v === 0 || Math.abs(v - 1 / keep) < 1e-6, `${v}`);
      if (v === 0) dropped++;
    }
    // 400 draws at rate 0.175: 70 expected; far outside 35..110 would mean the rate is not applied.
    assert.ok(dropped > 35 && dropped < 110, `${dropped} of 400 dropped`);
    assert.equal(maxAbsDiff((layer.apply(x, { training: false }) as tf.Tensor).dataSync(), x.dataSync()), 0);
    m.dispose();
  });

  it('VGG16: batch norm optional; the fc head is the paper\'s flatten → FC → FC', () => {
    const bn = getArchitecture('vgg16').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.125 } });
    const plain = getArchitecture('vgg16').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.125, batchNorm: false } });
    assert.equal(bn.layers.filter((l) => l.getClassName() === 'Conv2D').length, 13);
    assert.equal(bn.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 13);
    assert.equal(plain.layers.filter((l) => l.getClassName() === 'BatchNormalization').length, 0);
    // Two pools at 28 px (28 → 14 → 7); the other three would go under 7 px.
    assert.deepEqual(bn.layers.filter((l) => l.name.endsWith('_pool')).map((l) => l.name), ['block1_pool', 'block2_pool']);
    const fc = getArchitecture('vgg16').build({ inputShape: [224, 224, 3], numClasses: 1000, options: { alpha: 0.125, head: 'fc', batchNorm: false } });
    assert.deepEqual(fc.getLayer('flatten').outputShape, [null, 7 * 7 * 64]);
    assert.deepEqual(fc.getLayer('fc1').outputShape, [null, 512]);
    assert.deepEqual(fc.getLayer('fc2').outputShape, [null, 512]);
    // Same convolutions as the GAP model; heads 3136·512 + 512 + 512·512 + 512 + 512·1000 + 1000 against 64·1000 + 1000.
    const gap = getArchitecture('vgg16').build({ inputShape: [224, 224, 3], numClasses: 1000, options: { alpha: 0.125, batchNorm: false } });
    assert.equal(fc.countParams() - gap.countParams(), 3136 * 512 + 512 + 512 * 512 + 512 + 512 * 1000 + 1000 - (64 * 1000 + 1000));
    for (const m of [bn, plain, fc, gap]) m.dispose();
  });

  for (const arch of ARCHITECTURES) {
    describe(arch.id, () => {
      it('builds at 28×28×1, 32×32×3 and 224×224×3; save → load gives identical predictions', async () => {
        for (const shape of [[28, 28, 1], [32, 32, 3], [224, 224, 3]] as ImageShape3[]) {
          const m = arch.build({ inputShape: shape, numClasses: 5, options: tiny(arch), seed: 3 });
          const x = tf.tensor4d(images(2, shape), [2, ...shape]);
          const y = m.predict(x) as tf.Tensor;
          assert.deepEqual(y.shape, [2, 5]);
          assert.ok(maxAbsDiff(tf.sum(y, 1).dataSync(), [1, 1]) < 1e-5, `${shape}: probabilities`);
          assert.equal(m.getLayer('logits').getClassName(), 'Dense');
          if (shape[2] === 1) {
            const dir = join(tmp.dir, arch.id);
            await saveModel(m, dir);
            const loaded = await loadModel(dir);
            assert.equal(maxAbsDiff(y.dataSync(), (loaded.predict(x) as tf.Tensor).dataSync()), 0);
            assert.equal(loaded.countParams(), m.countParams());
            loaded.dispose();
          }
          tf.dispose([x, y]);
          m.dispose();
        }
      });

      // Gradient parity with the cpu backend once per backbone (its attention blocks have their own parity tests):
      // the pure-JS cpu backend needs minutes for the larger grids. ResNet50 is left out: see parityNote below.
      const parity = !arch.attention && arch.backbone.id !== 'resnet50';
      it(`trains on wasm${parity ? ', with gradients matching the cpu backend' : ''}`, async () => {
        const n = 4;
        const shape: ImageShape3 = [28, 28, 1];
        const x = images(n, shape);
        const labels = Int32Array.from([1, 3, 5, 7]);
        const setUp = async (backend: string) => {
          await tf.setBackend(backend);
          const model = arch.build({ inputShape: shape, numClasses: 10, options: tiny(arch), dropout: 0, seed: 11 });
          const trainable = logitsModel(model);
          return { model, trainable, vars: model.trainableWeights.map((v) => v.read() as tf.Variable) };
        };
        let reference: { loss: number; grads: Float32Array[] } | undefined;
        if (parity) {
          const cpu = await setUp('cpu');
          const g = computeGradients(cpu.trainable, cpu.vars, shape, 10, x, labels, n);
          reference = { loss: g.loss, grads: cpu.vars.map((v) => g.grads[v.name].dataSync().slice() as Float32Array) };
          tf.dispose(g.grads);
          cpu.model.dispose();
        }
        const wasm = await setUp('wasm');
        const optimizer: tf.Optimizer = tf.train.adam(3e-3);
        const losses: number[] = [];
        for (let step = 0; step < 4; step++) {
          const g = computeGradients(wasm.trainable, wasm.vars, shape, 10, x, labels, n);
          losses.push(g.loss);
          if (step === 0 && reference) {
            assert.ok(Math.abs(g.loss - reference.loss) < 1e-4 * Math.max(1, reference.loss), `loss ${g.loss} vs cpu ${reference.loss}`);
            // Judged against the largest gradient: per-tensor relative error is meaningless where a gradient is a
            // near-cancelling sum (batch-norm offsets right after initialisation).
            const scale = Math.max(...reference.grads.map(maxAbs));
            let worst = 0;
            let where = '';
            wasm.vars.forEach((v, i) => {
              const d = maxAbsDiff(reference!.grads[i], g.grads[v.name].dataSync());
              if (d > worst) [worst, where] = [d, v.name];
            });
            assert.ok(scale > 1e-3, `gradients too small to compare (${scale})`);
            assert.ok(worst / scale < 1e-4, `worst gradient difference ${worst} at ${where}, largest gradient ${scale}`);
          }
          optimizer.applyGradients(g.grads);
          tf.dispose(g.grads);
        }
        assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
        assert.ok(losses[3] < losses[0], `the loss on a fixed batch falls: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
        optimizer.dispose();
        wasm.model.dispose();
      });

      it('explains: Grad-CAM on the default layer gives a finite map at input resolution (28×28×1, 224×224×3)', async () => {
        for (const shape of [[28, 28, 1], [224, 224, 3]] as ImageShape3[]) {
          const m = arch.build({ inputShape: shape, numClasses: 10, options: tiny(arch), seed: 5 });
          const view = createModelView(m);
          const r = await getExplainer('gradcam').explain(view, { image: images(1, shape, 37), shape, target: 2, layer: view.defaultLayer, seed: 3 });
          assert.equal(r.heatmap.length, shape[0] * shape[1]);
          assert.ok(r.heatmap.every(Number.isFinite), `${shape}: finite`);
          assert.equal(r.layerMap!.layer, view.defaultLayer);
          if (arch.attention) assert.match(view.defaultLayer, new RegExp(`_${arch.attention.id}$`), 'the last attention block is the default layer');
          view.dispose();
          m.dispose();
        }
      });
    });
  }
});
