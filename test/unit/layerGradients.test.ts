/**
 * ModelView.layerGradients: the gradient of a class score w.r.t. a layer's activations, computed on the graph cut
 * after the layer, equals the probe's delta gradient (the whole graph under the tape) — with skip connections that
 * bypass the layer, a layer applied twice (no cut: the probe answers), nested models and the zoo's residual and
 * attention blocks.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { createModelView, splitAt, type ModelViewImpl } from '../../src/engine/explain/modelView';
import { classScore } from '../../src/engine/explain/methods/common';
import { getArchitecture } from '../../src/engine/models/zoo';
import { maxAbs, maxAbsDiff } from './helpers';

type Sym = tf.SymbolicTensor;

function conv(name: string, filters: number, seed: number): tf.layers.Layer {
  return tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', name, kernelInitializer: tf.initializers.glorotNormal({ seed }) });
}

/** input → a → mid → add(mid, a) → relu → pool → dense: `a` bypasses `mid`. */
function skipModel(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2] });
  const a = conv('a', 3, 1).apply(input) as Sym;
  const mid = conv('mid', 3, 2).apply(a) as Sym;
  const sum = tf.layers.add({ name: 'sum' }).apply([mid, a]) as Sym;
  const act = tf.layers.activation({ activation: 'tanh', name: 'act' }).apply(sum) as Sym;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(act) as Sym;
  const logits = tf.layers.dense({ units: 4, name: 'logits', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(pooled) as Sym;
  return tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'softmax', name: 'probs' }).apply(logits) as Sym });
}

/** The probe's gradient: the whole graph under the tape, delta added at the layer. */
function probeGradient(view: ModelViewImpl, layer: string, x: tf.Tensor4D, target: number): tf.Tensor {
  return tf.grad((d: tf.Tensor) => tf.sum(classScore(view.probe(layer, x, d as tf.Tensor4D).scores, target)))(tf.zeros([x.shape[0], ...view.layerShape(layer)]));
}

function checkParity(view: ModelViewImpl, layer: string, x: tf.Tensor4D, target: number): void {
  tf.tidy(() => {
    const before = tf.memory().numTensors;
    const r = view.layerGradients(layer, x, (s) => tf.sum(classScore(s, target)));
    const reference = probeGradient(view, layer, x, target);
    const activations = view.probe(layer, x, tf.zeros([x.shape[0], ...view.layerShape(layer)]) as tf.Tensor4D).activations;
    const g = r.gradients.dataSync();
    const scale = Math.max(maxAbs(reference.dataSync()), 1e-12);
    assert.ok(maxAbs(g) > 0, `${layer}: a gradient reaches the layer`);
    assert.ok(maxAbsDiff(g, reference.dataSync()) <= 1e-4 * scale, `${layer}: ${maxAbsDiff(g, reference.dataSync())} vs scale ${scale}`);
    assert.ok(maxAbsDiff(r.activations.dataSync(), activations.dataSync()) <= 1e-5, `${layer}: activations`);
    assert.ok(tf.memory().numTensors > before);
  });
}

function images(n: number, shape: number[], seed: number): tf.Tensor4D {
  return tf.randomUniform([n, ...shape] as [number, number, number, number], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describe('layer gradients on the graph cut after the layer', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('cut a skip connection that bypasses the layer into an extra input held fixed', () => {
    const model = skipModel();
    const split = splitAt(model, 'mid')!;
    assert.ok(split, 'mid can be cut');
    assert.deepEqual(split.prefix.outputs.map((t) => t.sourceLayer.name), ['mid', 'a'], 'the prefix returns the layer and the bypassing tensor');
    assert.equal(split.suffix.inputs.length, 2);
    assert.deepEqual(split.suffix.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name), ['sum', 'act', 'pool', 'logits', 'probs']);
    const chain = splitAt(model, 'act')!;
    assert.equal(chain.suffix.inputs.length, 1, 'nothing bypasses the activation');
    const view = createModelView(model);
    const x = images(2, [6, 6, 2], 7);
    for (const layer of ['a', 'mid', 'sum', 'act']) checkParity(view, layer, x, 1);
    assert.equal(splitAt(model, 'nope'), undefined, 'a layer that is not in the graph gives no cut');
  });

  it('leave a layer applied twice uncut: the probe answers, with its one-line error', () => {
    const input = tf.input({ shape: [5, 5, 2] });
    const twice = conv('twice', 2, 4);
    const h = twice.apply(twice.apply(input) as Sym) as Sym;
    const pooled = tf.layers.globalMaxPooling2d({}).apply(h) as Sym;
    const logits = tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }).apply(pooled) as Sym;
    const model = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'softmax' }).apply(logits) as Sym });
    assert.equal(splitAt(model, 'twice'), undefined);
    const view = createModelView(model);
    assert.throws(() => tf.tidy(() => view.layerGradients('twice', images(1, [5, 5, 2], 8), (s) => tf.sum(classScore(s, 2)))),
      /layer name "twice__probe_delta" is used 2 times across the model/);
  });

  it('match the probe on a backbone nested in a classifier, at a layer inside the backbone', () => {
    const backbone = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, stemStride: '2' }, seed: 4 });
    const input = tf.input({ shape: [28, 28, 1] });
    const features = backbone.apply(input) as Sym;
    const logits = tf.layers.dense({ units: 3, name: 'outer_logits', kernelInitializer: tf.initializers.glorotNormal({ seed: 6 }) }).apply(features) as Sym;
    const outer = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'softmax', name: 'outer_probs' }).apply(logits) as Sym });
    const view = createModelView(outer);
    const x = images(1, [28, 28, 1], 9);
    for (const layer of ['block3_expand_relu', 'top_cbam', view.defaultLayer]) checkParity(view, layer, x, 2);
    view.dispose();
    outer.dispose();
  });

  for (const id of ['cbam-resnet50', 'pam-mobilenetv2', 'gc-efficientnetb0']) {
    it(`match the probe on ${id} at an early, a middle and the default layer`, () => {
      const arch = getArchitecture(id);
      const model = arch.build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.125, ...('dropConnect' in arch.options ? { dropConnect: 0 } : {}) }, seed: 11 });
      const view = createModelView(model);
      const layers = view.spatialLayers.map((l) => l.name);
      const x = images(2, [28, 28, 1], 12);
      for (const layer of [layers[1], layers[Math.floor(layers.length / 2)], view.defaultLayer]) checkParity(view, layer, x, 3);
      view.dispose();
      model.dispose();
    });
  }
});
