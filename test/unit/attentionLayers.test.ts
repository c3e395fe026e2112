/**
 * The four attention layers against direct computations of their published formulas (plain loops over
 * Float32Arrays, no TensorFlow.js), their configs and save/load round trips, the bundled model's predictions under
 * the extended CBAM, and gradient parity between the wasm backend (with this project's kernels) and cpu.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { CBAM, GCBlock, PAM, SqueezeExcite } from '../../src/engine/models/layers/attention';
import { loadModel } from '../../src/engine/io/modelFolder';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import { readImageFile } from '../../src/engine/image/decode';
import { prepareForModel } from '../../src/engine/preprocess';
import { maxAbs, maxAbsDiff } from './helpers';

type Shape4 = [number, number, number, number];

/** Small LCG in [-scale, scale], so every run sees the same numbers. */
function rand(length: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 * scale - scale;
  });
}

const size = (shape: tf.Shape) => shape.reduce<number>((a, b) => a * (b ?? 1), 1);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** out[j] = b[j] + Σ_i v[i]·W[i, j] for W stored row-major [inN, outN]. */
function dense(v: ArrayLike<number>, W: Float32Array, b: Float32Array, inN: number, outN: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < outN; j++) {
    let s = b[j];
    for (let i = 0; i < inN; i++) s += v[i] * W[i * outN + j];
    out.push(s);
  }
  return out;
}

function softmaxRow(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** Position p's channel vector of image b. */
function at(x: Float32Array, [, h, w, c]: Shape4, b: number, p: number): Float32Array {
  const o = (b * h * w + p) * c;
  return x.subarray(o, o + c);
}

interface Mlp { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array; hid: number }

function mlp(v: ArrayLike<number>, m: Mlp, c: number): number[] {
  const hidden = dense(v, m.w1, m.b1, c, m.hid).map((t) => Math.max(0, t));
  return dense(hidden, m.w2, m.b2, m.hid, c);
}

function poolAvgMax(x: Float32Array, shape: Shape4, b: number): { avg: number[]; max: number[] } {
  const [, h, w, c] = shape;
  const avg = new Array<number>(c).fill(0);
  const max = new Array<number>(c).fill(-Infinity);
  for (let p = 0; p < h * w; p++) {
    const v = at(x, shape, b, p);
    for (let k = 0; k < c; k++) {
      avg[k] += v[k] / (h * w);
      max[k] = Math.max(max[k], v[k]);
    }
  }
  return { avg, max };
}

/** SE: x ⊙ σ(W₂ ReLU(W₁ GAP(x) + b₁) + b₂). */
function seReference(x: Float32Array, shape: Shape4, m: Mlp): { out: Float32Array; gate: number[][] } {
  const [n, h, w, c] = shape;
  const out = new Float32Array(x.length);
  const gate: number[][] = [];
  for (let b = 0; b < n; b++) {
    const s = mlp(poolAvgMax(x, shape, b).avg, m, c).map(sigmoid);
    gate.push(s);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[(b * h * w + p) * c + k] = x[(b * h * w + p) * c + k] * s[k];
  }
  return { out, gate };
}

interface SpatialParams {
  k: number;
  /** [k, k, 2, 1] row-major. */
  kernel: Float32Array;
  /** Legacy gate: conv bias, maps [mean, max]. */
  bias?: number;
  /** Published gate: batch norm, maps [max, mean]; stats 'batch' = training mode. */
  bn?: { gamma: number; beta: number; mean: number; variance: number; eps: number; stats: 'moving' | 'batch' };
}

/** CBAM: channel gate σ(MLP(avg) + MLP(max)), then spatial gate over [max_c, mean_c] (or legacy [mean_c, max_c]). */
function cbamReference(x: Float32Array, shape: Shape4, m: Mlp, sp: SpatialParams): { out: Float32Array; channel: number[][]; spatial: Float32Array; conv: Float32Array } {
  const [n, h, w, c] = shape;
  const xc = new Float32Array(x.length);
  const channel: number[][] = [];
  for (let b = 0; b < n; b++) {
    const { avg, max } = poolAvgMax(x, shape, b);
    const a = mlp(avg, m, c);
    const mx = mlp(max, m, c);
    const g = a.map((v, k) => sigmoid(v + mx[k]));
    channel.push(g);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) xc[(b * h * w + p) * c + k] = x[(b * h * w + p) * c + k] * g[k];
  }
  // Two maps per position, in the order the gate's convolution expects.
  const maps = new Float32Array(n * h * w * 2);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      const v = at(xc, shape, b, p);
      let mean = 0;
      let max = -Infinity;
      for (let k = 0; k < c; k++) {
        mean += v[k] / c;
        max = Math.max(max, v[k]);
      }
      const [first, second] = sp.bn ? [max, mean] : [mean, max];
      maps[(b * h * w + p) * 2] = first;
      maps[(b * h * w + p) * 2 + 1] = second;
    }
  }
  const pad = (sp.k - 1) / 2;
  const conv = new Float32Array(n * h * w);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let s = sp.bias ?? 0;
        for (let di = 0; di < sp.k; di++) {
          for (let dj = 0; dj < sp.k; dj++) {
            const y = i + di - pad;
            const xx = j + dj - pad;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            for (let ch = 0; ch < 2; ch++) s += maps[((b * h + y) * w + xx) * 2 + ch] * sp.kernel[(di * sp.k + dj) * 2 + ch];
          }
        }
        conv[(b * h + i) * w + j] = s;
      }
    }
  }
  const preNorm = conv.slice();
  if (sp.bn) {
    let mean = sp.bn.mean;
    let variance = sp.bn.variance;
    if (sp.bn.stats === 'batch') {
      mean = conv.reduce((a, v) => a + v, 0) / conv.length;
      variance = conv.reduce((a, v) => a + (v - mean) ** 2, 0) / conv.length;
    }
    for (let i = 0; i < conv.length; i++) conv[i] = ((conv[i] - mean) / Math.sqrt(variance + sp.bn.eps)) * sp.bn.gamma + sp.bn.beta;
  }
  const spatial = conv.map(sigmoid);
  const out = new Float32Array(x.length);
  for (let q = 0; q < n * h * w; q++) for (let k = 0; k < c; k++) out[q * c + k] = xc[q * c + k] * spatial[q];
  return { out, channel, spatial, conv: preNorm };
}

interface PamParams { wq: Float32Array; bq: Float32Array; wk: Float32Array; bk: Float32Array; wv: Float32Array; bv: Float32Array; gamma: number; k: number }

/** PAM: out_i = γ Σ_j softmax_j(q_i·k_j) v_j + x_i. */
function pamReference(x: Float32Array, shape: Shape4, p: PamParams): { out: Float32Array; attention: number[][][] } {
  const [n, h, w, c] = shape;
  const N = h * w;
  const out = new Float32Array(x.length);
  const attention: number[][][] = [];
  for (let b = 0; b < n; b++) {
    const q: number[][] = [];
    const key: number[][] = [];
    const v: number[][] = [];
    for (let i = 0; i < N; i++) {
      const xi = at(x, shape, b, i);
      q.push(dense(xi, p.wq, p.bq, c, p.k));
      key.push(dense(xi, p.wk, p.bk, c, p.k));
      v.push(dense(xi, p.wv, p.bv, c, c));
    }
    const rows: number[][] = [];
    for (let i = 0; i < N; i++) {
      const energy: number[] = [];
      for (let j = 0; j < N; j++) energy.push(q[i].reduce((s, qv, t) => s + qv * key[j][t], 0));
      const a = softmaxRow(energy);
      rows.push(a);
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let j = 0; j < N; j++) s += a[j] * v[j][ch];
        out[(b * N + i) * c + ch] = p.gamma * s + x[(b * N + i) * c + ch];
      }
    }
    attention.push(rows);
  }
  return { out, attention };
}

interface GcParams {
  wm: Float32Array; bm: number; w1: Float32Array; b1: Float32Array; g: Float32Array; be: Float32Array; w2: Float32Array; b2: Float32Array;
  p: number; eps: number;
}

/** GC: out = x + W₂ ReLU(LN(W₁ Σ_p softmax_p(w_m·x_p + b_m) x_p + b₁)) + b₂. */
function gcReference(x: Float32Array, shape: Shape4, q: GcParams): { out: Float32Array; mask: number[][] } {
  const [n, h, w, c] = shape;
  const N = h * w;
  const out = new Float32Array(x.length);
  const masks: number[][] = [];
  for (let b = 0; b < n; b++) {
    const logits: number[] = [];
    for (let i = 0; i < N; i++) logits.push(at(x, shape, b, i).reduce((s, v, ch) => s + v * q.wm[ch], q.bm));
    const mask = softmaxRow(logits);
    masks.push(mask);
    const context = new Array<number>(c).fill(0);
    for (let i = 0; i < N; i++) at(x, shape, b, i).forEach((v, ch) => (context[ch] += mask[i] * v));
    const t1 = dense(context, q.w1, q.b1, c, q.p);
    const mu = t1.reduce((a, v) => a + v, 0) / q.p;
    const variance = t1.reduce((a, v) => a + (v - mu) ** 2, 0) / q.p;
    const r = t1.map((v, j) => Math.max(0, ((v - mu) / Math.sqrt(variance + q.eps)) * q.g[j] + q.be[j]));
    const t = dense(r, q.w2, q.b2, q.p, c);
    for (let i = 0; i < N; i++) for (let ch = 0; ch < c; ch++) out[(b * N + i) * c + ch] = x[(b * N + i) * c + ch] + t[ch];
  }
  return { out, mask: masks };
}

/** Sets a built layer's weights by their names within the layer ('mlp1/kernel', …); every weight must be given. */
function setWeightsByName(layer: tf.layers.Layer, values: Record<string, Float32Array | number[]>): void {
  // Names are scoped by the layer's name when it was built inside apply().
  const names = layer.weights.map((w) => w.originalName.replace(new RegExp(`^${layer.name}/`), ''));
  assert.deepEqual([...names].sort(), Object.keys(values).sort(), `${layer.name}: weight names`);
  layer.setWeights(layer.weights.map((w, i) => tf.tensor(values[names[i]], w.shape as number[])));
}

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol * Math.max(1, maxAbs(expected)), `${what}: max abs diff ${d}`);
}

const SHAPE: Shape4 = [2, 5, 4, 16];
const TOL = 1e-5;

function applyLayer(layer: tf.layers.Layer, x: Float32Array, shape: Shape4, training = false): Float32Array {
  return tf.tidy(() => (layer.apply(tf.tensor4d(x, shape), { training }) as tf.Tensor).dataSync() as Float32Array);
}

describe('attention layers', function () {
  this.timeout(120_000);
  const x = rand(SHAPE.reduce((a, b) => a * b, 1), 1, 2);
  const c = SHAPE[3];

  before(async () => {
    await initBackend('cpu');
  });

  describe('formulas against plain-loop references', () => {
    it('SqueezeExcite: hidden width C/16 by default, output and gate match', () => {
      const layer = new SqueezeExcite({ name: 'se' });
      layer.build([null, 5, 4, c]);
      assert.equal(layer.hiddenUnits(c), 1);
      const layer4 = new SqueezeExcite({ name: 'se4', ratio: 4 });
      layer4.build([null, 5, 4, c]);
      const m: Mlp = { w1: rand(c * 4, 2), b1: rand(4, 3), w2: rand(4 * c, 4), b2: rand(c, 5), hid: 4 };
      setWeightsByName(layer4, { 'fc1/kernel': m.w1, 'fc1/bias': m.b1, 'fc2/kernel': m.w2, 'fc2/bias': m.b2 });
      const ref = seReference(x, SHAPE, m);
      assertNear(applyLayer(layer4, x, SHAPE), ref.out, TOL, 'SE output');
      const gate = tf.tidy(() => layer4.attentionMaps(tf.tensor4d(x, SHAPE)).channel!.arraySync());
      assertNear(gate.flat(), ref.gate.flat(), TOL, 'SE gate');
    });

    const cbamWeights = (k: number): { m: Mlp; kernel: Float32Array } => ({
      m: { w1: rand(c * 2, 6), b1: rand(2, 7), w2: rand(2 * c, 8), b2: rand(c, 9), hid: 2 },
      kernel: rand(k * k * 2, 10),
    });

    it('CBAM (published): channel gate, then σ(BN(conv7×7([max, mean]))) with moving statistics at inference', () => {
      const layer = new CBAM({ name: 'cbam', ratio: 8 });
      layer.build([null, 5, 4, c]);
      assert.equal(layer.kernelSize, 7);
      assert.equal(layer.spatialBatchNorm, true);
      const { m, kernel } = cbamWeights(7);
      const bn = { gamma: 1.3, beta: -0.2, mean: 0.4, variance: 2.5, eps: 1e-5, stats: 'moving' as const };
      setWeightsByName(layer, {
        'mlp1/kernel': m.w1, 'mlp1/bias': m.b1, 'mlp2/kernel': m.w2, 'mlp2/bias': m.b2, 'spatial/kernel': kernel,
        'spatial_bn/gamma': [bn.gamma], 'spatial_bn/beta': [bn.beta], 'spatial_bn/moving_mean': [bn.mean], 'spatial_bn/moving_variance': [bn.variance],
      });
      const ref = cbamReference(x, SHAPE, m, { k: 7, kernel, bn });
      assertNear(applyLayer(layer, x, SHAPE), ref.out, TOL, 'CBAM output');
      const maps = tf.tidy(() => {
        const a = layer.attentionMaps(tf.tensor4d(x, SHAPE));
        return { channel: a.channel!.dataSync().slice(), spatial: a.spatial!.dataSync().slice(), shape: a.spatial!.shape };
      });
      assert.deepEqual(maps.shape, [2, 5, 4]);
      assertNear(maps.channel, ref.channel.flat(), TOL, 'CBAM channel gate');
      assertNear(maps.spatial, ref.spatial, TOL, 'CBAM spatial gate');
    });

    it('CBAM (published) in training mode normalises with batch statistics and updates the moving ones', () => {
      const layer = new CBAM({ name: 'cbam_train', ratio: 8, kernelSize: 3, momentum: 0.9 });
      layer.build([null, 5, 4, c]);
      const { m, kernel } = cbamWeights(3);
      const bn = { gamma: 0.7, beta: 0.1, mean: 0, variance: 1, eps: 1e-5, stats: 'batch' as const };
      setWeightsByName(layer, {
        'mlp1/kernel': m.w1, 'mlp1/bias': m.b1, 'mlp2/kernel': m.w2, 'mlp2/bias': m.b2, 'spatial/kernel': kernel,
        'spatial_bn/gamma': [bn.gamma], 'spatial_bn/beta': [bn.beta], 'spatial_bn/moving_mean': [0], 'spatial_bn/moving_variance': [1],
      });
      const ref = cbamReference(x, SHAPE, m, { k: 3, kernel, bn });
      assertNear(applyLayer(layer, x, SHAPE, true), ref.out, TOL, 'CBAM training output');
      const names = layer.weights.map((w) => w.originalName.split('/').slice(-1)[0]);
      const weights = layer.getWeights().map((t) => t.dataSync()[0]);
      const movingMean = weights[names.indexOf('moving_mean')];
      const movingVar = weights[names.indexOf('moving_variance')];
      // Biased batch statistics of the (pre-norm) convolution, momentum 0.9 from the initial 0 and 1.
      const mean = ref.conv.reduce((a, v) => a + v, 0) / ref.conv.length;
      const variance = ref.conv.reduce((a, v) => a + (v - mean) ** 2, 0) / ref.conv.length;
      assert.ok(Math.abs(movingMean - 0.1 * mean) < 1e-5, `moving mean ${movingMean} vs ${0.1 * mean}`);
      assert.ok(Math.abs(movingVar - (0.9 + 0.1 * variance)) < 1e-4, `moving variance ${movingVar} vs ${0.9 + 0.1 * variance}`);
    });

    it('CBAM (legacy gate, spatialBatchNorm false): σ(conv([mean, max]) + b)', () => {
      const layer = new CBAM({ name: 'cbam_legacy', ratio: 8, kernelSize: 3, spatialBatchNorm: false });
      layer.build([null, 5, 4, c]);
      const { m, kernel } = cbamWeights(3);
      setWeightsByName(layer, {
        'mlp1/kernel': m.w1, 'mlp1/bias': m.b1, 'mlp2/kernel': m.w2, 'mlp2/bias': m.b2, 'spatial/kernel': kernel, 'spatial/bias': [0.3],
      });
      const ref = cbamReference(x, SHAPE, m, { k: 3, kernel, bias: 0.3 });
      assertNear(applyLayer(layer, x, SHAPE), ref.out, TOL, 'legacy CBAM output');
    });

    it('PAM: query/key width C/8, γ starts at 0 (identity), output and attention rows match', () => {
      const layer = new PAM({ name: 'pam' });
      layer.build([null, 5, 4, c]);
      assert.equal(layer.keyUnits(c), 2);
      assertNear(applyLayer(layer, x, SHAPE), x, 0, 'PAM at initialisation');
      const p: PamParams = {
        wq: rand(c * 2, 11, 0.5), bq: rand(2, 12), wk: rand(c * 2, 13, 0.5), bk: rand(2, 14), wv: rand(c * c, 15, 0.5), bv: rand(c, 16), gamma: 0.8, k: 2,
      };
      setWeightsByName(layer, {
        'query/kernel': p.wq, 'query/bias': p.bq, 'key/kernel': p.wk, 'key/bias': p.bk, 'value/kernel': p.wv, 'value/bias': p.bv, gamma: [p.gamma],
      });
      const ref = pamReference(x, SHAPE, p);
      assertNear(applyLayer(layer, x, SHAPE), ref.out, TOL, 'PAM output');
      const att = tf.tidy(() => layer.attentionMaps(tf.tensor4d(x, SHAPE)).positions!);
      assert.deepEqual(att.shape, [2, 20, 20]);
      assertNear(att.dataSync(), ref.attention.flat(2), TOL, 'PAM attention');
      att.dispose();
    });

    it('GCBlock: width C/16, last transform zero (identity) at first; output and context mask match', () => {
      const layer = new GCBlock({ name: 'gc' });
      layer.build([null, 5, 4, c]);
      assert.equal(layer.hiddenUnits(c), 1);
      assertNear(applyLayer(layer, x, SHAPE), x, 0, 'GC at initialisation');
      const gc4 = new GCBlock({ name: 'gc4', ratio: 4 });
      gc4.build([null, 5, 4, c]);
      const q: GcParams = {
        wm: rand(c, 17), bm: 0.2, w1: rand(c * 4, 18), b1: rand(4, 19), g: rand(4, 20), be: rand(4, 21), w2: rand(4 * c, 22), b2: rand(c, 23), p: 4, eps: 1e-5,
      };
      setWeightsByName(gc4, {
        'mask/kernel': q.wm, 'mask/bias': [q.bm], 'transform1/kernel': q.w1, 'transform1/bias': q.b1, 'ln/gamma': q.g, 'ln/beta': q.be,
        'transform2/kernel': q.w2, 'transform2/bias': q.b2,
      });
      const ref = gcReference(x, SHAPE, q);
      assertNear(applyLayer(gc4, x, SHAPE), ref.out, TOL, 'GC output');
      const mask = tf.tidy(() => gc4.attentionMaps(tf.tensor4d(x, SHAPE)).spatial!);
      assert.deepEqual(mask.shape, [2, 5, 4]);
      assertNear(mask.dataSync(), ref.mask.flat(), TOL, 'GC mask');
      mask.dispose();
    });
  });

  describe('configs', () => {
    it('rejects bad arguments, echoing the value', () => {
      assert.throws(() => new PAM({ ratio: 0 }), /PAM: ratio must be a positive integer, got 0/);
      assert.throws(() => new GCBlock({ ratio: 2.5 }), /GCBlock: ratio must be a positive integer, got 2.5/);
      assert.throws(() => new GCBlock({ epsilon: -1 }), /GCBlock: epsilon must be a number in \(0, 1\), got -1/);
      assert.throws(() => new CBAM({ spatialBatchNorm: 'yes' as unknown as boolean }), /CBAM: spatialBatchNorm must be true or false, got "yes"/);
      assert.throws(() => new CBAM({ momentum: 1 }), /CBAM: momentum must be a number in \(0, 1\), got 1/);
      assert.throws(() => new SqueezeExcite({ minUnits: 0 }), /SqueezeExcite: minUnits must be a positive integer, got 0/);
      assert.throws(() => new PAM({}).build([null, 5, 5]), /PAM expects a 4-D NHWC input with known channels, got shape \[null,5,5\]/);
    });

    it('a CBAM config without spatialBatchNorm (saved before it existed) keeps the old gate', () => {
      const old = CBAM.fromConfig(CBAM, { name: 'old', ratio: 8, minUnits: 8, kernelSize: 3 }) as CBAM;
      assert.equal(old.spatialBatchNorm, false);
      const fresh = CBAM.fromConfig(CBAM, new CBAM({ name: 'new' }).getConfig()) as CBAM;
      assert.equal(fresh.spatialBatchNorm, true);
      assert.deepEqual(
        { ratio: fresh.ratio, minUnits: fresh.minUnits, kernelSize: fresh.kernelSize, momentum: fresh.momentum, epsilon: fresh.epsilon },
        { ratio: 16, minUnits: 1, kernelSize: 7, momentum: 0.99, epsilon: 1e-5 },
      );
    });

    const kinds: [string, () => tf.layers.Layer][] = [
      ['SqueezeExcite', () => new SqueezeExcite({ name: 'att', ratio: 4, seed: 1 })],
      ['CBAM', () => new CBAM({ name: 'att', ratio: 4, kernelSize: 3, seed: 1 })],
      ['CBAM legacy', () => new CBAM({ name: 'att', ratio: 4, kernelSize: 3, spatialBatchNorm: false, seed: 1 })],
      ['PAM', () => new PAM({ name: 'att', seed: 1 })],
      ['GCBlock', () => new GCBlock({ name: 'att', ratio: 4, seed: 1 })],
    ];
    for (const [label, make] of kinds) {
      it(`${label}: save → load through model.json gives identical outputs and config`, async () => {
        const input = tf.input({ shape: [5, 4, c] });
        const layer = make();
        const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
        // Non-trivial weights everywhere (γ and the zero-initialised transform included).
        model.setWeights(model.weights.map((w, i) => tf.tensor(rand(size(w.shape), 100 + i, 0.5), w.shape as number[]).abs()));
        let artifacts: tf.io.ModelArtifacts | undefined;
        await model.save(tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }));
        const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
        const xs = tf.tensor4d(x, SHAPE);
        const before = (model.predict(xs) as tf.Tensor).dataSync();
        const after = (loaded.predict(xs) as tf.Tensor).dataSync();
        assert.equal(maxAbsDiff(before, after), 0);
        assert.deepEqual(loaded.layers[1].getConfig(), layer.getConfig());
        assert.equal(loaded.layers[1].getClassName(), layer.getClassName());
        model.dispose();
        loaded.dispose();
        xs.dispose();
      });
    }

    it('the bundled model loads with the old CBAM gate and predicts the samples exactly as before', async () => {
      const fixture = JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'bundled-model-sample-probabilities.json'), 'utf8')) as {
        probabilities: Record<string, number[]>;
      };
      const model = await loadModel(defaultModelDir());
      // By class name: each test bundle has its own copy of the layer classes, and the last one loaded is registered.
      const cbams = model.layers.filter((l) => l.getClassName() === 'CBAM');
      assert.ok(cbams.length >= 2);
      assert.ok(cbams.every((l) => l.getConfig().spatialBatchNorm === false && l.weights.length === 6));
      for (let d = 0; d < 10; d++) {
        const name = `digit-${d}.png`;
        const img = prepareForModel(await readImageFile(join(packageRoot(), 'media', 'samples', name)), [28, 28, 1]);
        const p = tf.tidy(() => (model.predict(tf.tensor4d(img.image.data, [1, 28, 28, 1])) as tf.Tensor).dataSync());
        assertNear(p, fixture.probabilities[name], 1e-6, name);
        assert.equal(p.indexOf(Math.max(...p)), d, name);
      }
      model.dispose();
    });
  });
});

/** Gradients of a tiny conv → attention → GAP → dense model w.r.t. every weight and the input, on one backend. */
function tinyModelGradients(make: () => tf.layers.Layer, shape: Shape4): { name: string; values: Float32Array }[] {
  return tf.tidy(() => {
    const [n, h, w, ch] = shape;
    const input = tf.input({ shape: [h, w, ch] });
    let y = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(input) as tf.SymbolicTensor;
    const att = make();
    y = att.apply(y) as tf.SymbolicTensor;
    y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
    y = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    // Deterministic, non-trivial weights (γ and zero-initialised transforms included), the same on both backends.
    model.setWeights(model.weights.map((wt, i) => {
      const v = rand(size(wt.shape), 200 + i, 0.6);
      const t = tf.tensor(v, wt.shape as number[]);
      return wt.originalName.endsWith('moving_variance') ? t.abs().add(0.5) : t;
    }));
    const xs = tf.tensor4d(rand(n * h * w * ch, 7), shape);
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 5), 'int32'), 5);
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const loss = () => tf.losses.softmaxCrossEntropy(labels, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, vars);
    const dx = tf.grad((t: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, model.apply(t, { training: true }) as tf.Tensor))(xs);
    const out = vars.map((v) => ({ name: v.name, values: grads[v.name].dataSync().slice() as Float32Array }));
    out.push({ name: 'input', values: dx.dataSync().slice() as Float32Array });
    model.dispose();
    return out;
  });
}

describe('attention layers train on wasm: gradients match cpu', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend('wasm'); // registers the project's kernels and gradients
    await initBackend('cpu');
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  const kinds: [string, () => tf.layers.Layer][] = [
    ['SqueezeExcite', () => new SqueezeExcite({ ratio: 4 })],
    ['CBAM', () => new CBAM({ ratio: 4 })],
    ['CBAM legacy', () => new CBAM({ ratio: 4, kernelSize: 3, spatialBatchNorm: false })],
    ['PAM', () => new PAM({})],
    ['GCBlock', () => new GCBlock({ ratio: 4 })],
  ];
  for (const [label, make] of kinds) {
    it(label, async () => {
      const shape: Shape4 = [3, 7, 6, 3];
      await tf.setBackend('cpu');
      const cpu = tinyModelGradients(make, shape);
      assert.ok(await tf.setBackend('wasm'));
      assert.equal(tf.getBackend(), 'wasm');
      const wasm = tinyModelGradients(make, shape);
      await tf.setBackend('cpu');
      assert.equal(cpu.length, wasm.length);
      const scale = Math.max(...cpu.map((g) => maxAbs(g.values)));
      assert.ok(scale > 1e-3, `gradients too small to compare (${scale})`);
      for (let i = 0; i < cpu.length; i++) {
        assert.ok(maxAbs(cpu[i].values) > 0 || cpu[i].name.includes('mask/bias'), `${cpu[i].name}: zero gradient`);
        const d = maxAbsDiff(cpu[i].values, wasm[i].values);
        assert.ok(d / scale < 1e-4, `${cpu[i].name}: wasm differs from cpu by ${d} (largest gradient ${scale})`);
      }
    });
  }
});
