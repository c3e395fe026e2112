/**
 * The attention-map explainer on tiny models with each attention kind, at 28×28×1 and 224×224×3: map shapes, known
 * answers from hand-set attention weights (a bright blob that every kind is wired to attend to), PAM's query at the
 * Grad-CAM peak, the choice of layer, and models without attention layers (skipped, not a crash).
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { createModelView } from '../../src/engine/explain/modelView';
import { explainImage } from '../../src/engine/explain/explain';
import { getExplainer } from '../../src/engine/explain/registry';
import { gradCam } from '../../src/engine/explain/methods/cam';
import type { AttentionLayerMap } from '../../src/engine/explain/methods/attention';
import { CBAM, GCBlock, PAM, SqueezeExcite } from '../../src/engine/models/layers/attention';
import type { ExplainRequest, ImageShape } from '../../src/engine/explain/types';

type Kind = 'se' | 'cbam' | 'pam' | 'gc';
const KINDS: Kind[] = ['se', 'cbam', 'pam', 'gc'];
const attention = getExplainer('attention');

function makeLayer(kind: Kind, name: string): tf.layers.Layer {
  switch (kind) {
    case 'se': return new SqueezeExcite({ name, ratio: 2, seed: 1 });
    case 'cbam': return new CBAM({ name, ratio: 2, kernelSize: 3, seed: 1 });
    case 'pam': return new PAM({ name, ratio: 2, seed: 1 });
    case 'gc': return new GCBlock({ name, ratio: 2, seed: 1 });
  }
}

/**
 * image → conv (4 channels, all ≥ 0 multiples of the image's mean over its channels, stride s) → attention layer(s)
 * → GAP → logits → softmax. Channel 0 of the conv is the (pooled) image itself.
 */
function tinyModel(kinds: Kind[], shape: ImageShape, stride: number): tf.LayersModel {
  const input = tf.input({ shape });
  const conv = tf.layers.conv2d({ name: 'features', filters: 4, kernelSize: stride, strides: stride, padding: 'same' });
  let y = conv.apply(input) as tf.SymbolicTensor;
  const ch = shape[2];
  // Each output channel: a positive multiple of the window's mean.
  const k = new Float32Array(stride * stride * ch * 4);
  for (let i = 0; i < stride * stride * ch; i++) [1, 0.5, 0.3, 0.2].forEach((v, o) => (k[i * 4 + o] = v / (stride * stride * ch)));
  conv.setWeights([tf.tensor4d(k, [stride, stride, ch, 4]), tf.zeros([4])]);
  kinds.forEach((kind, i) => {
    y = makeLayer(kind, `${kind}_${i}`).apply(y) as tf.SymbolicTensor;
  });
  y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ name: 'logits', units: 3 });
  y = dense.apply(y) as tf.SymbolicTensor;
  dense.setWeights([tf.tensor2d([[2, -1, 0], [1, 0, -1], [0.5, 1, 0], [0, 0.5, 1]]), tf.zeros([3])]);
  return tf.model({ inputs: input, outputs: tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(y) as tf.SymbolicTensor });
}

/** Sets some weights of a layer by their names within it ('mask/kernel'); the others keep their values. */
function setByName(layer: tf.layers.Layer, values: Record<string, number[]>): void {
  const own = (name: string) => name.replace(new RegExp(`^${layer.name}/`), '');
  layer.setWeights(layer.weights.map((w) => {
    const v = values[own(w.originalName)];
    return v ? tf.tensor(v, w.shape as number[]) : w.read().clone();
  }));
}

/** Wires each attention layer to attend to bright positions (channel 0 of its input is the image brightness). */
function attendToBright(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    const c = 4;
    const onChannel0 = (v: number, units: number) => Array.from({ length: c * units }, (_, i) => (i < units ? (i === 0 ? v : 0) : 0));
    if (layer instanceof GCBlock) setByName(layer, { 'mask/kernel': onChannel0(40, 1) });
    if (layer instanceof PAM) {
      // q_i = (1, 1), k_j = (20·x_j, 0): every query's energies grow with the key position's brightness.
      setByName(layer, { 'query/kernel': new Array(c * 2).fill(0), 'query/bias': [1, 1], 'key/kernel': onChannel0(20, 2), gamma: [0.5] });
    }
    if (layer instanceof CBAM) {
      // Spatial conv: 8 × (channel max) at the centre tap only; batch norm is the identity at initialisation.
      const kernel = new Array(3 * 3 * 2).fill(0);
      kernel[(1 * 3 + 1) * 2] = 8;
      setByName(layer, { 'spatial/kernel': kernel });
    }
  }
}

/** Dark image with a bright square [top, left, side] (all channels). */
function blobImage([h, w, c]: ImageShape, top: number, left: number, side: number): Float32Array {
  const img = new Float32Array(h * w * c).fill(0.05);
  for (let y = top; y < top + side; y++) for (let x = left; x < left + side; x++) for (let k = 0; k < c; k++) img[(y * w + x) * c + k] = 1;
  return img;
}

function req(image: Float32Array, shape: ImageShape, layer: string, options?: ExplainRequest['options']): ExplainRequest {
  return { image, shape, target: 0, layer, options, seed: 1 };
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

const GEOMETRIES: { shape: ImageShape; stride: number; blob: [number, number, number] }[] = [
  { shape: [28, 28, 1], stride: 2, blob: [18, 4, 4] },
  { shape: [224, 224, 3], stride: 16, blob: [160, 32, 32] },
];

describe('attention-map explainer', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm');
  });

  for (const { shape, stride, blob } of GEOMETRIES) {
    for (const kind of KINDS) {
      it(`${kind} at ${shape.join('×')}: a map at input resolution that peaks on the blob the layer is wired to`, async () => {
        const model = tinyModel([kind], shape, stride);
        attendToBright(model);
        const view = createModelView(model);
        assert.equal(attention.unavailable?.(view), undefined);
        assert.deepEqual(view.attentionLayers.map((a) => a.layer), [`${kind}_0`]);
        const image = blobImage(shape, ...blob);
        const a = await attention.explain(view, req(image, shape, view.defaultLayer));
        const [H, W] = shape;
        const [h, w] = [H / stride, W / stride];
        assert.equal(a.heatmap.length, H * W);
        assert.deepEqual([a.height, a.width, a.layerMap!.height, a.layerMap!.width], [H, W, h, w]);
        assert.ok(a.heatmap.every(Number.isFinite));
        const peak = argmax(a.heatmap);
        const [py, px] = [Math.floor(peak / W), peak % W];
        const [top, left, side] = blob;
        // Bilinear upsampling can move the peak up to one layer cell off the blob.
        assert.ok(py >= top - stride && py < top + side + stride && px >= left - stride && px < left + side + stride, `peak at (${py}, ${px})`);
        const s = a.scores as { kind: string; channelGate?: number[]; query?: [number, number]; layers: AttentionLayerMap[] };
        const expectedKind = { se: 'channel-gate', cbam: 'spatial-gate', pam: 'position-attention', gc: 'context-mask' }[kind];
        assert.equal(s.kind, expectedKind);
        if (kind === 'se' || kind === 'cbam') {
          assert.equal(s.channelGate?.length, 4);
          assert.ok(s.channelGate!.every((g) => g > 0 && g < 1));
          // The same gate the layer itself computes on its input.
          const layer = model.getLayer(`${kind}_0`) as SqueezeExcite | CBAM;
          const features = tf.model({ inputs: model.inputs, outputs: model.getLayer('features').getOutputAt(0) as tf.SymbolicTensor });
          const gate = tf.tidy(() => layer.attentionMaps(features.predict(tf.tensor4d(image, [1, ...shape])) as tf.Tensor4D).channel!.dataSync());
          assert.ok(s.channelGate!.every((g, i) => Math.abs(g - gate[i]) < 1e-6));
        } else {
          assert.equal(s.channelGate, undefined);
        }
        if (kind === 'gc') {
          const total = a.layerMap!.data.reduce((x, y) => x + y, 0);
          assert.ok(Math.abs(total - 1) < 1e-4, `mask sums to ${total}`);
        }
        if (kind === 'pam') {
          // The query is the Grad-CAM peak at the PAM layer; its attention row sums to 1.
          const cam = await gradCam.explain(view, req(image, shape, 'pam_0'));
          const q = argmax(cam.layerMap!.data);
          assert.deepEqual(s.query, [Math.floor(q / w), q % w]);
          const total = a.layerMap!.data.reduce((x, y) => x + y, 0);
          assert.ok(Math.abs(total - 1) < 1e-4, `attention row sums to ${total}`);
        }
        view.dispose();
        model.dispose();
      });
    }
  }

  it('shows every attention layer; the CAM layer or the last by default, another by option', async () => {
    const shape: ImageShape = [28, 28, 1];
    const model = tinyModel(['cbam', 'gc', 'se'], shape, 2);
    attendToBright(model);
    const view = createModelView(model);
    assert.deepEqual(view.attentionLayers.map((l) => [l.layer, l.className]), [['cbam_0', 'CBAM'], ['gc_1', 'GCBlock'], ['se_2', 'SqueezeExcite']]);
    const image = blobImage(shape, 3, 20, 5);
    const last = await attention.explain(view, req(image, shape, 'features'));
    assert.equal((last.scores as { layer: string }).layer, 'se_2');
    assert.deepEqual((last.scores as { layers: AttentionLayerMap[] }).layers.map((l) => l.kind), ['spatial-gate', 'context-mask', 'channel-gate']);
    const asCam = await attention.explain(view, req(image, shape, 'gc_1'));
    assert.equal(asCam.layerMap!.layer, 'gc_1');
    const byOption = await attention.explain(view, req(image, shape, 'se_2', { attentionLayer: 'cbam_0' }));
    assert.equal(byOption.layerMap!.layer, 'cbam_0');
    await assert.rejects(
      attention.explain(view, req(image, shape, 'se_2', { attentionLayer: 'features' })),
      /option "attentionLayer": "features" is not an attention layer; attention layers: cbam_0, gc_1, se_2/,
    );
    view.dispose();
    model.dispose();
  });

  it('gets deletion/insertion metrics like the other maps, and leaks no tensors', async () => {
    const shape: ImageShape = [28, 28, 1];
    const model = tinyModel(['pam'], shape, 2);
    attendToBright(model);
    const view = createModelView(model);
    const image = blobImage(shape, 10, 10, 6);
    await attention.explain(view, req(image, shape, view.defaultLayer)); // warm-up: caches the view's sub-models
    const before = tf.memory().numTensors;
    const r = await explainImage(view, image, { methods: [attention], seed: 1 });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(r.attributions.map((a) => a.method), ['attention']);
    const m = r.metrics.attention;
    assert.ok([m.deletionAuc, m.insertionAuc, m.randomDeletionAuc, m.clarity].every(Number.isFinite));
    view.dispose();
    model.dispose();
  });

  it('a model without attention layers: unavailable with a reason, skipped in a run, one-line error when called', async () => {
    const shape: ImageShape = [28, 28, 1];
    const model = tinyModel([], shape, 2);
    const view = createModelView(model);
    const reason = 'the model has no attention layers (SqueezeExcite, CBAM, PAM, GCBlock)';
    assert.equal(attention.unavailable?.(view), reason);
    const image = blobImage(shape, 3, 3, 4);
    const r = await explainImage(view, image, { methods: [getExplainer('gradcam'), attention], seed: 1 });
    assert.deepEqual(r.attributions.map((a) => a.method), ['gradcam']);
    assert.deepEqual(r.skipped, [{ method: 'attention', reason }]);
    await assert.rejects(attention.explain(view, req(image, shape, view.defaultLayer)), new RegExp(`^XaiLensError: attention maps: ${reason.replace(/[()]/g, '\\$&')}$`));
    view.dispose();
    model.dispose();
  });
});
