import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { ARCHITECTURES, getArchitecture } from '../../src/engine/models/zoo';
import { CBAM, SqueezeExcite } from '../../src/engine/models/layers/attention';
import { getPreset } from '../../src/engine/training/presets';
import { countMacs } from '../../src/engine/models/modelStats';
import { loadModel, saveModel } from '../../src/engine/io/modelFolder';
import { tempDir, maxAbsDiff } from './helpers';

describe('models', () => {
  const tmp = tempDir();
  before(async () => {
    await initBackend('wasm');
  });
  after(() => tmp.cleanup());

  it('registers mobilenetv2 and its se, cbam, pam and gc variants by name', () => {
    assert.deepEqual(ARCHITECTURES.map((a) => a.id), ['mobilenetv2', 'se-mobilenetv2', 'cbam-mobilenetv2', 'pam-mobilenetv2', 'gc-mobilenetv2']);
    assert.equal(getArchitecture('CBAM-MobileNetV2').attention?.id, 'cbam');
  });

  it('names the available models when one is unknown', () => {
    assert.throws(() => getArchitecture('resnet9000'), /unknown model "resnet9000"; available: mobilenetv2, se-mobilenetv2, cbam-mobilenetv2, pam-mobilenetv2, gc-mobilenetv2/);
  });

  it('counts MACs of a hand-checked tiny model', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor; // 8*8*4*9*1 = 2304
    const d = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' }).apply(c) as tf.SymbolicTensor; // 4*4*4*9 = 576
    const f = tf.layers.flatten().apply(d) as tf.SymbolicTensor;
    const o = tf.layers.dense({ units: 10 }).apply(f) as tf.SymbolicTensor; // 64*10 = 640
    const model = tf.model({ inputs: input, outputs: o });
    assert.equal(countMacs(model), 2304 + 576 + 640);
    model.dispose();
  });

  it('counts the attention blocks in MACs and parameters', () => {
    const plain = getArchitecture('mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.5 } });
    const cbam = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.5, attach: 'every' } });
    const lastOnly = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.5 } });
    assert.ok(countMacs(cbam) > countMacs(lastOnly) && countMacs(lastOnly) > countMacs(plain));
    assert.ok(cbam.countParams() > lastOnly.countParams() && lastOnly.countParams() > plain.countParams());
    assert.equal(cbam.layers.filter((l) => l instanceof CBAM).length, 3);
    assert.deepEqual(lastOnly.layers.filter((l) => l instanceof CBAM).map((l) => l.name), ['top_cbam']);
    for (const m of [plain, cbam, lastOnly]) m.dispose();
  });

  it('keeps the default recipe under 0.5 M parameters, ending at 7×7 with either stem stride', () => {
    const m = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: getPreset('default').modelOptions });
    assert.ok(m.countParams() <= 500_000, `${m.countParams()} params`);
    assert.equal(m.countParams(), 127_720, 'the bundled model\'s architecture (its model card says 127,720)');
    assert.deepEqual(m.getLayer('stem_conv').outputShape, [null, 14, 14, 32]);
    assert.deepEqual(m.getLayer('top_cbam').outputShape, [null, 7, 7, 256]);
    const s1 = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.75, stemStride: '1' } });
    assert.deepEqual(s1.getLayer('top_cbam').outputShape, [null, 7, 7, 256]);
    s1.dispose();
    m.dispose();
  });

  it('builds 3-channel and larger inputs', () => {
    const m = getArchitecture('se-mobilenetv2').build({ inputShape: [64, 64, 3], numClasses: 5, options: { alpha: 0.35 } });
    const y = m.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 5]);
    const sums = tf.sum(y, 1).dataSync();
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
    y.dispose();
    m.dispose();
  });

  it('rejects invalid layer arguments, echoing the bad value', () => {
    assert.throws(() => new CBAM({ kernelSize: 4 }), /kernelSize must be odd, got 4/);
    assert.throws(() => new CBAM({ ratio: 0 }), /ratio must be a positive integer, got 0/);
    assert.throws(() => new SqueezeExcite({ ratio: 1.5 }), /ratio must be a positive integer, got 1.5/);
  });

  it('serializes the attention layers through their config', () => {
    const layer = new CBAM({ ratio: 4, kernelSize: 5, name: 'att' });
    const config = layer.getConfig();
    assert.equal(config.ratio, 4);
    assert.equal(config.kernelSize, 5);
    const clone = CBAM.fromConfig(CBAM, config) as CBAM;
    assert.equal(clone.kernelSize, 5);
  });

  for (const arch of ARCHITECTURES) {
    it(`${arch.id}: save → load gives identical predictions`, async () => {
      const model = arch.build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 3 });
      const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 5);
      const before = (model.predict(x) as tf.Tensor).dataSync();
      const dir = join(tmp.dir, arch.id);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      const after = (loaded.predict(x) as tf.Tensor).dataSync();
      assert.equal(maxAbsDiff(before, after), 0);
      assert.equal(readdirSync(dir).filter((f) => f.endsWith('.bin')).length, 1);
      model.dispose();
      loaded.dispose();
      x.dispose();
    });
  }

  it('reports what is wrong with a model folder', async () => {
    await assert.rejects(loadModel(join(tmp.dir, 'nope')), /nope: model folder not found/);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(loadModel(empty), /empty: not a model folder: model.json is missing/);
    const bad = join(tmp.dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'model.json'), '{"modelTopology": ');
    await assert.rejects(loadModel(bad), /bad: model.json is not valid JSON/);
    writeFileSync(join(bad, 'model.json'), '{"hello": 1}');
    await assert.rejects(loadModel(bad), /bad: model.json is not a TensorFlow.js layers model/);
    const copy = join(tmp.dir, 'mobilenetv2');
    const weights = readdirSync(copy).find((f) => f.endsWith('.bin'))!;
    unlinkSync(join(copy, weights));
    await assert.rejects(loadModel(copy), new RegExp(`weight file "${weights}" named in model.json is missing`));
  });
});
