/**
 * The tfjs-layers → ONNX exporter against TF.js: every layer class it covers, the zoo's architectures with all their
 * attention modules, a nested model, at 28×28 and 224×224×3; the probe check and the fallback to TF.js.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { EXPORTABLE_LAYERS, LAYER_EXPORTERS, ONNX_INPUT, ONNX_OUTPUT, exportOnnx } from '../../src/engine/native/onnxExport';
import { createOrtSession, loadOrt, preferredProviders } from '../../src/engine/native/ort';
import { prepareNativeForward, type NativeForward } from '../../src/engine/native/nativeForward';
import { createModelView } from '../../src/engine/explain/modelView';
import { ARCHITECTURES, getArchitecture } from '../../src/engine/models/zoo';
import { CBAM, GCBlock, PAM, SqueezeExcite } from '../../src/engine/models/layers/attention';
import { Preprocess, importModel } from '../../src/engine/io/modelFormats';
import { onnx } from 'onnx-proto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/engine/paths';
import { loadGraphReference, tempDir } from './helpers';

type Sym = tf.SymbolicTensor;

/** Max |ONNX Runtime − TF.js| over a seeded batch of 3, relative to the largest |output| (at least 1). */
function parity(model: tf.LayersModel): number {
  const ort = loadOrt();
  if (typeof ort === 'string') throw new Error(ort);
  const session = createOrtSession(ort, exportOnnx(model), ONNX_INPUT, ONNX_OUTPUT, 1);
  try {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const x = tf.randomUniform([3, ...shape], -1, 2, 'float32', 7);
    const want = tf.tidy(() => model.predict(x) as tf.Tensor);
    const got = session.run(x.dataSync() as Float32Array, x.shape);
    assert.deepEqual(got.dims, want.shape);
    const w = want.dataSync();
    let m = 0;
    let scale = 1;
    for (let i = 0; i < w.length; i++) {
      m = Math.max(m, Math.abs(w[i] - got.data[i]));
      scale = Math.max(scale, Math.abs(w[i]));
    }
    x.dispose();
    want.dispose();
    // Relative to the largest output (at least 1): float32 rounding grows with the values (PAM's unscaled energies).
    return m / scale;
  } finally {
    session.dispose();
  }
}

/**
 * A model of one layer (plus what it needs around it) on a 4-D input; weights randomised so none is trivial (PAM's γ
 * and GC's last transform start at zero, which would make either block the identity).
 */
function around(shape: number[], body: (x: Sym) => Sym): tf.LayersModel {
  const input = tf.input({ shape });
  const model = tf.model({ inputs: input, outputs: body(input) });
  let seed = 11;
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    layer.setWeights(ws.map((w) => {
      const name = layer.weights[ws.indexOf(w)].originalName;
      // Variances must stay positive; a layer norm's scale too, or the ReLU after GC's may pass no unit at all.
      return name.endsWith('moving_variance') || name.endsWith('ln/gamma')
        ? tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed++)
        : tf.randomNormal(w.shape, 0, 0.5, 'float32', seed++);
    }));
  }
  return model;
}

const L = tf.layers;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** Cases by the class they test: every entry of LAYER_EXPORTERS must have one. */
const CASES: Record<string, [string, () => tf.LayersModel][]> = {
  Conv2D: [
    ['same, stride 2, bias, relu', () => around([9, 11, 3], (x) => apply(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), x))],
    ['valid, 5×3 kernel, dilation 2, no bias, swish', () => around([12, 12, 2], (x) => apply(L.conv2d({ filters: 3, kernelSize: [5, 3], dilationRate: 2, useBias: false, activation: 'swish' }), x))],
    ['same, even kernel, stride 2 on odd size', () => around([7, 8, 2], (x) => apply(L.conv2d({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' }), x))],
  ],
  DepthwiseConv2D: [
    ['same, stride 2, multiplier 2, bias, relu6', () => around([9, 9, 3], (x) => apply(L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' }), x))],
    ['valid, no bias', () => around([6, 6, 4], (x) => apply(L.depthwiseConv2d({ kernelSize: 3, useBias: false }), x))],
  ],
  BatchNormalization: [
    ['4-D', () => around([5, 5, 3], (x) => apply(L.batchNormalization({ epsilon: 1e-3 }), x))],
    ['2-D, no centre, no scale', () => around([4, 4, 2], (x) => apply(L.batchNormalization({ center: false, scale: false }), apply(L.flatten(), x)))],
  ],
  Activation: ['relu', 'relu6', 'sigmoid', 'swish', 'tanh', 'elu', 'selu', 'softplus', 'hardSigmoid', 'linear', 'softmax'].map((a) => [
    a,
    () => around([4, 4, 3], (x) => apply(L.activation({ activation: a as 'relu' }), x)),
  ]),
  ReLU: [['max 6', () => around([4, 4, 2], (x) => apply(L.reLU({ maxValue: 6 }), apply(L.conv2d({ filters: 2, kernelSize: 1 }), x)))]],
  LeakyReLU: [['α 0.2', () => around([4, 4, 2], (x) => apply(L.leakyReLU({ alpha: 0.2 }), x))]],
  // TF.js' Softmax layer fails on 4-D inputs itself; the 2-D head is what models use.
  Softmax: [['2-D', () => around([3, 3, 4], (x) => apply(L.softmax({}), apply(L.flatten(), x)))]],
  Add: [['residual', () => around([6, 6, 3], (x) => apply(L.add(), [x, apply(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x)]))]],
  Multiply: [['gating', () => around([6, 6, 3], (x) => apply(L.multiply(), [x, apply(L.conv2d({ filters: 3, kernelSize: 1, activation: 'sigmoid' }), x)]))]],
  Maximum: [['max', () => around([4, 4, 2], (x) => apply(L.maximum(), [x, apply(L.conv2d({ filters: 2, kernelSize: 1 }), x)]))]],
  Minimum: [['min', () => around([4, 4, 2], (x) => apply(L.minimum(), [x, apply(L.conv2d({ filters: 2, kernelSize: 1 }), x)]))]],
  Average: [['mean of three', () => around([4, 4, 2], (x) => apply(L.average(), [x, apply(L.conv2d({ filters: 2, kernelSize: 1 }), x), apply(L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), x)]))]],
  Concatenate: [
    ['channels', () => around([5, 5, 2], (x) => apply(L.concatenate(), [x, apply(L.conv2d({ filters: 3, kernelSize: 1 }), x)]))],
    ['height', () => around([5, 5, 2], (x) => apply(L.concatenate({ axis: 1 }), [x, apply(L.conv2d({ filters: 2, kernelSize: 1 }), x)]))],
    ['2-D', () => around([3, 3, 2], (x) => apply(L.concatenate(), [apply(L.flatten(), x), apply(L.globalAveragePooling2d({}), x)]))],
  ],
  GlobalAveragePooling2D: [['', () => around([5, 7, 3], (x) => apply(L.globalAveragePooling2d({}), x))]],
  GlobalMaxPooling2D: [['', () => around([5, 7, 3], (x) => apply(L.globalMaxPooling2d({}), x))]],
  MaxPooling2D: [
    ['2×2 valid', () => around([7, 7, 2], (x) => apply(L.maxPooling2d({ poolSize: 2 }), x))],
    ['3×3 same, stride 2', () => around([7, 8, 2], (x) => apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x))],
  ],
  AveragePooling2D: [
    ['2×2 valid', () => around([6, 6, 2], (x) => apply(L.averagePooling2d({ poolSize: 2 }), x))],
    ['3×3 same, stride 1 (padding not counted)', () => around([5, 6, 2], (x) => apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x))],
  ],
  Dense: [['softmax head', () => around([3, 3, 2], (x) => apply(L.dense({ units: 5, activation: 'softmax' }), apply(L.flatten(), x)))]],
  Dropout: [['', () => around([3, 3, 2], (x) => apply(L.dropout({ rate: 0.5 }), x))]],
  GaussianNoise: [['', () => around([3, 3, 2], (x) => apply(L.gaussianNoise({ stddev: 0.5 }), x))]],
  Flatten: [['NHWC order', () => around([3, 4, 2], (x) => apply(L.flatten(), x))]],
  Reshape: [
    ['to 4-D', () => around([4, 6, 2], (x) => apply(L.conv2d({ filters: 1, kernelSize: 1 }), apply(L.reshape({ targetShape: [6, 4, 2] }), x)))],
    ['to 2-D', () => around([4, 6, 2], (x) => apply(L.reshape({ targetShape: [48] }), x))],
  ],
  ZeroPadding2D: [['asymmetric', () => around([4, 5, 2], (x) => apply(L.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), x))]],
  XaiLensPreprocess: [
    ['[0, 255] BGR − mean / std', () => around([5, 5, 3], (x) => apply(new Preprocess({ range: [0, 255], mean: [103.9, 116.8, 123.7], std: [57.4, 57.1, 58.4], channelOrder: 'bgr' }, 3), x))],
    ['[−1, 1] gray', () => around([4, 6, 1], (x) => apply(new Preprocess({ range: [-1, 1], channelOrder: 'rgb' }, 1), x))],
  ],
  SqueezeExcite: [['ratio 2', () => around([6, 6, 16], (x) => apply(new SqueezeExcite({ ratio: 2, seed: 1 }), x))]],
  CBAM: [
    ['kernel 7 and 3, batch-normalised gate', () => around([9, 9, 16], (x) => apply(new CBAM({ kernelSize: 3, seed: 2 }), apply(new CBAM({ kernelSize: 7, ratio: 2, seed: 1 }), x)))],
    ['gate with bias (configs saved before the published form)', () => around([7, 7, 16], (x) => apply(new CBAM({ kernelSize: 3, ratio: 2, seed: 3, spatialBatchNorm: false }), x))],
  ],
  // Non-square maps, so that a wrong order of positions shows.
  PAM: [
    ['ratio 8 (DANet), 6×5', () => around([6, 5, 16], (x) => apply(new PAM({ seed: 1 }), x))],
    ['ratio 2 after a stride-2 conv, 4×7', () => around([8, 13, 3], (x) => apply(new PAM({ ratio: 2, seed: 2 }), apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }), x)))],
  ],
  GCBlock: [
    ['ratio 4, 7×6', () => around([7, 6, 32], (x) => apply(new GCBlock({ ratio: 4, seed: 1 }), x))],
    ['two units, ε 0.5 (ε must be the layer\'s)', () => around([5, 4, 16], (x) => apply(new GCBlock({ minUnits: 2, epsilon: 0.5, seed: 2 }), x))],
  ],
};

/** Classes whose zero-initialised weights make a freshly built block the identity. */
const IDENTITY_AT_INIT = ['PAM', 'GCBlock'];

/** Gives those blocks' all-zero weights values, so that a zoo model's attention takes part in the comparison. */
function wakeAttention(model: tf.LayersModel): void {
  let seed = 31;
  for (const layer of model.layers) {
    if (!IDENTITY_AT_INIT.includes(layer.getClassName())) continue;
    layer.setWeights(layer.getWeights().map((w) => (w.dataSync().every((v) => v === 0) ? tf.randomNormal(w.shape, 0, 0.1, 'float32', seed++) : w)));
  }
}

/**
 * A 16×16×3 graph model in tfjs-converter's JSON form, with the fused and other ops converted CNNs carry:
 * _FusedConv2D (BiasAdd + Relu6, BiasAdd + Relu), FusedDepthwiseConv2dNative (BiasAdd + Relu),
 * FusedBatchNormV3, MaxPool, Pad + AvgPool, ConcatV2, Mul/Sub with constants, Mean (keep_dims), Squeeze,
 * _FusedMatMul (BiasAdd), Reshape, Softmax.
 */
function writeGraphModel(dir: string, unsupported = false): void {
  let seed = 3;
  const rand = (n: number, scale: number, offset = 0) => Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return offset + scale * ((seed >>> 8) / 2 ** 24 - 0.5);
  });
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const nodes: Record<string, unknown>[] = [];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const blobs: Buffer[] = [];
  const shapeAttr = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
  const konst = (name: string, values: Float32Array | Int32Array, shape: number[]): string => {
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    const tfType = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: tfType, tensorShape: shapeAttr(shape) } }, dtype: { type: tfType } } });
    specs.push({ name, shape, dtype });
    blobs.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    return name;
  };
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string => {
    nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  };
  const ints = (v: number[]) => ({ list: { i: v.map(String) } });
  const conv = { strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) };
  const fused = (ops: string[], n: number) => ({ fused_ops: { list: { s: ops.map(b64) } }, num_args: { i: String(n) }, epsilon: { f: 0.001 } });
  const bn = (name: string, c: number) => [konst(`${name}/scale`, rand(c, 1, 1), [c]), konst(`${name}/offset`, rand(c, 0.4), [c]), konst(`${name}/mean`, rand(c, 0.4), [c]), konst(`${name}/var`, rand(c, 0.5, 1), [c])];
  nodes.push({ name: 'input', op: 'Placeholder', attr: { shape: { shape: shapeAttr([-1, 16, 16, 3]) }, dtype: { type: 'DT_FLOAT' } } });
  let x = node('c1', '_FusedConv2D', ['input', konst('c1/k', rand(216, 0.8), [3, 3, 3, 8]), konst('c1/b', rand(8, 0.2), [8])], { ...conv, strides: ints([1, 2, 2, 1]), ...fused(['BiasAdd', 'Relu6'], 1) });
  x = node('d1', 'FusedDepthwiseConv2dNative', [x, konst('d1/k', rand(72, 0.8), [3, 3, 8, 1]), konst('d1/b', rand(8, 0.2), [8])], { ...conv, ...fused(['BiasAdd', 'Relu'], 1) });
  x = node('bn', 'FusedBatchNormV3', [x, ...bn('bn', 8)], { epsilon: { f: 0.001 }, data_format: { s: b64('NHWC') } });
  const c2 = node('c2', '_FusedConv2D', [x, konst('c2/k', rand(64, 0.8), [1, 1, 8, 8]), konst('c2/b', rand(8, 0.2), [8])], { ...conv, ...fused(['BiasAdd', 'Relu'], 1) });
  const mp = node('mp', 'MaxPool', [c2], { ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } });
  const padded = node('pad', 'Pad', [c2, konst('pad/p', Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0]), [4, 2])]);
  const ap = node('ap', 'AvgPool', [padded], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } });
  x = node('cat', 'ConcatV2', [mp, ap, konst('cat/axis', Int32Array.from([3]), [])], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  x = node('mul', 'Mul', [x, konst('mul/c', Float32Array.from([0.5]), [])]);
  x = node('sub', 'Sub', [x, konst('sub/c', rand(16, 0.3), [16])]);
  if (unsupported) x = node('neg', 'Neg', [x]);
  x = node('gap', 'Mean', [x, konst('gap/axes', Int32Array.from([1, 2]), [2])], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } });
  x = node('sq', 'Squeeze', [x], { squeeze_dims: ints([1, 2]) });
  x = node('fc', '_FusedMatMul', [x, konst('fc/k', rand(80, 1.5), [16, 5]), konst('fc/b', rand(5, 0.2), [5])], { transpose_a: { b: false }, transpose_b: { b: false }, ...fused(['BiasAdd'], 1) });
  x = node('re', 'Reshape', [x, konst('re/shape', Int32Array.from([-1, 5]), [2])], { Tshape: { type: 'DT_INT32' } });
  node('Identity', 'Identity', [node('sm', 'Softmax', [x])]);
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(blobs));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({
    format: 'graph-model', generatedBy: 'onnxExport.test.ts', convertedBy: null,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1286 } },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    signature: { inputs: { 'input:0': { name: 'input:0', dtype: 'DT_FLOAT', tensorShape: shapeAttr([-1, 16, 16, 3]) } }, outputs: { 'Identity:0': { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: shapeAttr([-1, 5]) } } },
  }));
}

/** Imports a model file or folder and prepares its ONNX Runtime forward pass, which must pass the probe check. */
async function importNative(path: string): Promise<{ model: tf.LayersModel; forward: NativeForward }> {
  const { model } = await importModel(path);
  const status = await prepareNativeForward(model);
  assert.equal(status.note, undefined);
  assert.ok(status.probeError! <= 1e-4, `probe error ${status.probeError}`);
  return { model, forward: status.forward! };
}

describe('ONNX export (tfjs-layers → ONNX Runtime)', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm');
  });

  it('has a parity case for every layer class it exports', () => {
    // A GraphSegment needs a loaded graph model; the TF.js graph tests below are its cases.
    const missing = EXPORTABLE_LAYERS.filter((cls) => !CASES[cls] && cls !== 'GraphSegment');
    assert.deepEqual(missing, []);
  });

  it('PAM and GC cases add a term that depends on the input (neither the identity nor a constant)', () => {
    for (const cls of IDENTITY_AT_INIT) {
      for (const [what, build] of CASES[cls]) {
        const model = build();
        const layer = model.layers.find((l) => l.getClassName() === cls)!;
        const probe = tf.model({ inputs: model.inputs, outputs: [layer.input as Sym, layer.output as Sym] });
        const x = tf.randomUniform([2, ...(model.inputs[0].shape.slice(1) as number[])], -1, 2, 'float32', 7);
        const spread = tf.tidy(() => {
          const [before, after] = probe.predict(x) as tf.Tensor[];
          const [a, b] = tf.split(tf.sub(after, before), 2);
          return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
        });
        assert.ok(spread > 1e-2, `${cls} (${what}) adds terms that differ between two images by at most ${spread}`);
        x.dispose();
        model.dispose();
      }
    }
  });

  for (const [cls, cases] of Object.entries(CASES)) {
    for (const [what, build] of cases) {
      it(`${cls}${what ? ` (${what})` : ''} matches TF.js within 1e-5`, () => {
        const model = build();
        assert.ok(model.layers.some((l) => l.getClassName() === cls), `the case holds a ${cls}`);
        const err = parity(model);
        assert.ok(err <= 1e-5, `max difference ${err}`);
        model.dispose();
      });
    }
  }

  // Every architecture, every attention kind included: none falls back to TF.js.
  for (const arch of ARCHITECTURES) {
    it(`${arch.id}: 28×28 probabilities on ONNX Runtime within 1e-5`, () => {
      const model = arch.build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35, ...(arch.attention ? { attach: 'every' } : {}) }, seed: 3 });
      const classes = new Set(model.layers.map((l) => l.getClassName()));
      assert.deepEqual([...classes].filter((c) => c !== 'InputLayer' && !LAYER_EXPORTERS[c]), []);
      if (arch.attention) assert.ok(classes.has(arch.attention.className), `${arch.id} holds a ${arch.attention.className}`);
      wakeAttention(model);
      const err = parity(model);
      assert.ok(err <= 1e-5, `max difference ${err}`);
      model.dispose();
    });
  }

  it('MobileNetV2 with CBAM at 224×224×3 and a nested backbone: within 1e-5', () => {
    const backbone = getArchitecture('cbam-mobilenetv2').build({ inputShape: [224, 224, 3], numClasses: 10, options: { alpha: 0.35, attach: 'every' }, seed: 4 });
    const input = tf.input({ shape: [224, 224, 3] });
    const outer = tf.model({ inputs: input, outputs: apply(L.dense({ units: 3, activation: 'softmax' }), apply(backbone, input)) });
    assert.ok(parity(outer) <= 1e-5);
    outer.dispose();
  });

  it('names an unsupported layer class in one line', () => {
    const model = around([4, 4, 2], (x) => apply(L.upSampling2d({ size: [2, 2] }), x));
    assert.throws(() => exportOnnx(model), { message: /^ONNX export: layer "up_sampling2d_\w+" of class UpSampling2D is not supported$/ });
  });

  describe('forward passes on ONNX Runtime', () => {
    const saved = { native: process.env.XAI_LENS_NATIVE, cache: process.env.XAI_LENS_CACHE_DIR };
    const tmp = tempDir();
    before(() => {
      process.env.XAI_LENS_CACHE_DIR = tmp.dir;
    });
    after(() => {
      for (const [k, v] of [['XAI_LENS_NATIVE', saved.native], ['XAI_LENS_CACHE_DIR', saved.cache]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      tmp.cleanup();
    });

    it('are checked on a probe batch, cached by weights hash, and serve the view\'s probabilities', async () => {
      delete process.env.XAI_LENS_NATIVE;
      const model = getArchitecture('cbam-mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 9 });
      const first = await prepareNativeForward(model);
      assert.equal(first.note, undefined);
      assert.equal(first.cached, false);
      assert.ok(first.probeError! <= 1e-4);
      const again = await prepareNativeForward(model);
      assert.equal(again.cached, true);
      const view = createModelView(model, { native: first.forward });
      assert.equal(view.forwardBackend, 'onnxruntime-cpu');
      const plain = createModelView(model);
      const x = tf.randomUniform([40, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
      const a = view.probabilities(x);
      const b = plain.probabilities(x);
      assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] <= 1e-5);
      // The flat path (no tensors) gives the same, over more images than one native batch.
      assert.ok(view.forwardBatch < 40);
      const flat = view.flatProbabilities!(x.dataSync() as Float32Array, 40);
      const want = b.dataSync();
      assert.equal(flat.length, want.length);
      assert.ok(flat.every((v, i) => Math.abs(v - want[i]) <= 1e-5));
      [x, a, b].forEach((t) => t.dispose());
      first.forward!.dispose();
      again.forward!.dispose();
      model.dispose();
    });

    for (const [file, sidecar] of [['cnn28.onnx', undefined], ['cnn224.onnx', undefined], ['nhwc32.onnx', undefined], ['cnn28.onnx', { range: [0, 255], mean: [33], std: [78] }]] as const) {
      it(`an ONNX import (${file}${sidecar ? ', preprocessing in front' : ''}) runs its own graph, spliced in at its own opset`, async () => {
        delete process.env.XAI_LENS_NATIVE;
        const t = tempDir();
        try {
          const path = join(t.dir, file);
          copyFileSync(join(packageRoot(), 'test', 'fixtures', 'models', 'onnx', file), path);
          if (sidecar) writeFileSync(join(t.dir, 'xai-lens.json'), JSON.stringify({ preprocessing: sidecar }));
          const m = await importNative(path);
          assert.ok(m.model.layers.some((l) => l.getClassName() === 'OnnxNode' || l instanceof tf.LayersModel), 'the import is made of OnnxNode layers');
          const source = onnx.ModelProto.decode(readFileSync(path));
          const exported = onnx.ModelProto.decode(exportOnnx(m.model));
          assert.deepEqual(exported.opsetImport.map((o) => [o.domain, Number(o.version)]), source.opsetImport.map((o) => [o.domain, Number(o.version)]));
          const ops = (g: onnx.IGraphProto) => (g.node ?? []).map((n) => n.opType);
          const sourceOps = ops(source.graph!);
          const exportedOps = ops(exported.graph!);
          // The original nodes in order, with a transpose of the NHWC image in front (not for an NHWC graph), the
          // preprocessing (Mul, Add) and a softmax where the graph ends in logits, then the output's Identity.
          const at = exportedOps.findIndex((_, i) => sourceOps.every((op, k) => exportedOps[i + k] === op));
          assert.ok(at >= 0, `${sourceOps.join(' ')} in ${exportedOps.join(' ')}`);
          if (sidecar) assert.deepEqual(exportedOps.slice(1, 3), ['Mul', 'Add']);
          assert.equal(exportedOps.at(-1), 'Identity');
          m.forward.dispose();
          m.model.dispose();
        } finally {
          t.cleanup();
        }
      });
    }

    it('a TF.js graph import is translated op by op, and its translation passes the probe check', async () => {
      delete process.env.XAI_LENS_NATIVE;
      const m = await importNative(join(packageRoot(), 'test', 'fixtures', 'models', 'tfjs-graph', 'cnn32'));
      const ops = onnx.ModelProto.decode(exportOnnx(m.model)).graph!.node!.map((n) => n.opType);
      assert.deepEqual(ops, ['Transpose', 'Conv', 'Add', 'Clip', 'Conv', 'Add', 'Relu', 'Conv', 'Add', 'Add', 'Conv', 'Add', 'Relu', 'ReduceMean', 'MatMul', 'Add', 'Softmax', 'Identity']);
      m.forward.dispose();
      m.model.dispose();
      // With preprocessing in front, the import's segments sit in a model of their own before the softmax.
      const t = tempDir();
      try {
        for (const f of ['model.json', 'weights.bin']) copyFileSync(join(packageRoot(), 'test', 'fixtures', 'models', 'tfjs-graph', 'cnn32', f), join(t.dir, f));
        writeFileSync(join(t.dir, 'xai-lens.json'), JSON.stringify({ preprocessing: { range: [-1, 1] } }));
        const pre = await importNative(t.dir);
        pre.forward.dispose();
        pre.model.dispose();
      } finally {
        t.cleanup();
      }
    });

    it('a converted graph\'s fused convolutions, batch norms, pools, pads, concat, squeeze and reshape agree with tf.loadGraphModel', async () => {
      delete process.env.XAI_LENS_NATIVE;
      const t = tempDir();
      try {
        writeGraphModel(t.dir);
        const m = await importNative(t.dir);
        // The reference is TF.js's own graph executor, on images the probe did not see.
        const gm = await loadGraphReference(t.dir);
        const x = tf.randomUniform([5, 16, 16, 3], 0, 1, 'float32', 21);
        const want = tf.tidy(() => (gm.predict(x) as tf.Tensor).dataSync() as Float32Array);
        const got = m.forward.run(x.dataSync() as Float32Array, 5);
        assert.equal(got.length, 25);
        assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= 1e-5), 'ONNX Runtime matches the graph executor');
        x.dispose();
        gm.dispose();
        m.forward.dispose();
        m.model.dispose();
      } finally {
        t.cleanup();
      }
    });

    it('a graph op the translation does not know keeps the model on TF.js, with one line naming it', async () => {
      delete process.env.XAI_LENS_NATIVE;
      const t = tempDir();
      try {
        writeGraphModel(t.dir, true);
        const m = await importModel(t.dir);
        const status = await prepareNativeForward(m.model);
        assert.equal(status.forward, undefined);
        assert.equal(status.note, 'ONNX export: TF.js graph node "neg" (Neg): the op is not supported; forward passes stay on TF.js');
        m.model.dispose();
      } finally {
        t.cleanup();
      }
    });

    it('an ONNX import wrapped in layers other than preprocessing and a softmax is not exported (its opset may differ)', async () => {
      const m = await importModel(join(packageRoot(), 'test', 'fixtures', 'models', 'onnx', 'cnn28.onnx'));
      const input = tf.input({ shape: [28, 28, 1] });
      const wrapped = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(m.model.apply(input) as Sym) as Sym });
      assert.throws(() => exportOnnx(wrapped), /ONNX export: layers of class Dense around an imported ONNX graph$/);
      m.model.dispose();
    });

    it('execution providers: DirectML on Windows, CUDA where an NVIDIA device is, CPU last; one that cannot load is skipped with a note', async () => {
      assert.deepEqual(preferredProviders({}, 'win32', false), ['dml', 'cpu']);
      assert.deepEqual(preferredProviders({}, 'linux', true), ['cuda', 'cpu']);
      assert.deepEqual(preferredProviders({}, 'linux', false), ['cpu']);
      assert.deepEqual(preferredProviders({ XAI_LENS_ORT_PROVIDERS: ' CPU ' }, 'win32', true), ['cpu']);
      assert.deepEqual(preferredProviders({ XAI_LENS_ORT_PROVIDERS: 'cpu,cuda' }, 'linux', false), ['cuda', 'cpu']);
      // The npm package's Linux binary comes without CUDA's provider libraries: asked for, CUDA is skipped.
      const saved = process.env.XAI_LENS_ORT_PROVIDERS;
      process.env.XAI_LENS_ORT_PROVIDERS = 'cuda';
      const model = getArchitecture('mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 9 });
      try {
        const status = await prepareNativeForward(model);
        assert.equal(status.forward?.name, 'onnxruntime-cpu');
        assert.match(status.note ?? '', /^ONNX Runtime runs on cpu; not available here: cuda: [^\n]+$/);
        status.forward!.dispose();
      } finally {
        if (saved === undefined) delete process.env.XAI_LENS_ORT_PROVIDERS;
        else process.env.XAI_LENS_ORT_PROVIDERS = saved;
        model.dispose();
      }
    });

    it('fall back to TF.js with a one-line note when ONNX Runtime is switched off', async () => {
      process.env.XAI_LENS_NATIVE = 'off';
      const model = getArchitecture('mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 9 });
      const status = await prepareNativeForward(model);
      assert.deepEqual(status, { note: 'ONNX Runtime disabled (XAI_LENS_NATIVE=off)' });
      const view = createModelView(model, { native: (status as { forward?: undefined }).forward });
      assert.equal(view.forwardBackend, tf.getBackend());
      delete process.env.XAI_LENS_NATIVE;
      model.dispose();
    });

    it('fall back to TF.js when the exported graph disagrees on the probe batch', async () => {
      const dense = LAYER_EXPORTERS.Dense;
      // A wrong exporter for one class: Dense without its bias.
      LAYER_EXPORTERS.Dense = (g, layer, [x]) => {
        const k = layer.getWeights()[0];
        return { name: g.op('Gemm', [x.name, g.floats('k', k.dataSync() as Float32Array, k.shape)]), rank: 2 };
      };
      try {
        const model = around([3, 3, 1], (x) => apply(L.dense({ units: 4, activation: 'softmax' }), apply(L.flatten(), x)));
        const status = await prepareNativeForward(model);
        assert.equal(status.forward, undefined);
        assert.match(status.note!, /^ONNX Runtime disagrees with TF\.js on the probe batch \(max difference \d\.\d\de[+-]\d+ > 0\.0001\); forward passes stay on TF\.js$/);
        model.dispose();
      } finally {
        LAYER_EXPORTERS.Dense = dense;
      }
    });
  });
});
