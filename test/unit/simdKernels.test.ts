/**
 * The SIMD kernels of the wasm backend (src/engine/backend/simd) against the composite tfjs ops or the cpu kernels
 * they stand for, run on the pure-JS cpu backend. Shapes are chosen to hit the 4-wide SIMD loops, their scalar tails
 * (channel counts that are not multiples of 4) and the float32 → float64 flush every 32 rows.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/engine/backend/backends';
import { batchNormTraining } from '../../src/engine/backend/fastLayers';
import { hasFusedKernel, SIMD_FUSED_KERNELS } from '../../src/engine/backend/simdKernels';
import { maxAbs, maxAbsDiff, tempDir } from './helpers';

interface BnCase {
  shape: number[];
  mean: number;
  std: number;
}

const BN_CASES: BnCase[] = [
  { shape: [3, 5, 4, 6], mean: 1, std: 2 }, // 60 rows, 6 channels: one SIMD lane group + a tail of 2
  { shape: [2, 7, 7, 37], mean: -0.5, std: 1 }, // odd everything
  { shape: [64, 14, 14, 8], mean: 0, std: 1 }, // 12,544 rows: many flushes
  { shape: [16, 9, 9, 12], mean: 50, std: 0.1 }, // large mean, small spread: needs the centred second pass
];

/** Sum of y·w and its gradients with respect to x, γ, β, through the training-mode batch norm. */
function bnValueAndGrads(c: BnCase, i: number): { y: Float32Array; mean: Float32Array; variance: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const ch = c.shape[c.shape.length - 1];
    const x = tf.randomNormal(c.shape, c.mean, c.std, 'float32', 10 + i);
    const g = tf.randomNormal([ch], 1, 0.5, 'float32', 20 + i) as tf.Tensor1D;
    const b = tf.randomNormal([ch], 0, 0.5, 'float32', 30 + i) as tf.Tensor1D;
    const w = tf.randomNormal(c.shape, 0, 1, 'float32', 40 + i);
    const out = batchNormTraining(x, g, b, 1e-3);
    const result = { y: out.y.dataSync() as Float32Array, mean: out.mean.dataSync() as Float32Array, variance: out.variance.dataSync() as Float32Array };
    out.mean.dispose();
    out.variance.dispose();
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = batchNormTraining(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3);
      r.mean.dispose();
      r.variance.dispose();
      return tf.sum(tf.mul(r.y, w));
    };
    return { ...result, grads: tf.grads(f)([x, g, b]).map((t) => t.dataSync() as Float32Array) };
  });
}

function assertRelClose(actual: Float32Array, expected: Float32Array, tol: number, label: string): void {
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= tol * Math.max(1, maxAbs(expected)), `${label}: max abs diff ${diff}`);
}

describe('wasm SIMD kernels', () => {
  before(async () => {
    await initBackend('wasm');
    await initBackend('cpu');
  });

  it('are registered on wasm only; cpu uses the composite ops', async () => {
    await tf.setBackend('cpu');
    for (const name of Object.keys(SIMD_FUSED_KERNELS)) {
      assert.equal(tf.getKernel(name, 'wasm')?.kernelName, name);
      assert.equal(tf.getKernel(name, 'cpu'), undefined);
    }
    assert.equal(hasFusedKernel('XaiBatchNormTraining'), false);
    await tf.setBackend('wasm');
    assert.equal(hasFusedKernel('XaiBatchNormTraining'), true);
  });

  it('training batch norm: output, batch statistics and gradients match the composite ops on cpu', async () => {
    for (const [i, c] of BN_CASES.entries()) {
      await tf.setBackend('cpu');
      const want = bnValueAndGrads(c, i);
      await tf.setBackend('wasm');
      const got = bnValueAndGrads(c, i);
      const label = `[${c.shape}] mean ${c.mean} std ${c.std}`;
      assertRelClose(got.y, want.y, 2e-5, `${label} y`);
      assertRelClose(got.mean, want.mean, 1e-6, `${label} mean`);
      assertRelClose(got.variance, want.variance, 1e-4 * c.std * c.std, `${label} variance`);
      ['x', 'gamma', 'beta'].forEach((n, k) => assertRelClose(got.grads[k], want.grads[k], 1e-4, `${label} d${n}`));
    }
  });

  it('batch statistics keep float64-like accuracy over 10^5 rows', async () => {
    await tf.setBackend('wasm');
    const rows = 100_003;
    const values = Float32Array.from({ length: rows * 4 }, (_, i) => 1000 + ((i * 7919) % 101) / 100);
    let sum = 0;
    for (let i = 0; i < values.length; i += 4) sum += values[i];
    const exactMean = sum / rows;
    const { mean, y } = tf.tidy(() => {
      const out = batchNormTraining(tf.tensor2d(values, [rows, 4]), tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-3);
      return { mean: out.mean, y: out.y };
    });
    assert.ok(Math.abs(mean.dataSync()[0] - exactMean) < 1e-4, `${mean.dataSync()[0]} vs ${exactMean}`);
    tf.dispose([mean, y]);
  });

  it('inference batch norm (FusedBatchNorm) matches cpu with and without scale and offset; other shapes go to stock', async () => {
    const run = () => tf.tidy(() => {
      const x = tf.randomNormal([5, 3, 3, 7], 2, 3, 'float32', 5);
      const mean = tf.randomNormal([7], 2, 1, 'float32', 6) as tf.Tensor1D;
      const variance = tf.randomUniform([7], 0.5, 9, 'float32', 7) as tf.Tensor1D;
      const scale = tf.randomNormal([7], 1, 0.3, 'float32', 8) as tf.Tensor1D;
      const offset = tf.randomNormal([7], 0, 1, 'float32', 9) as tf.Tensor1D;
      const broadcast = (t: tf.Tensor) => tf.reshape(t, [1, 1, 1, 7]) as tf.Tensor4D;
      return [
        tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
        tf.batchNorm(x, mean, variance, undefined, scale, 1e-3),
        tf.batchNorm(x, mean, variance, offset, undefined, 1e-3),
        tf.batchNorm(x, mean, variance),
        tf.batchNorm(x, broadcast(mean), broadcast(variance), broadcast(offset), broadcast(scale), 1e-3),
      ].map((t) => t.dataSync() as Float32Array);
    });
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const got = run();
    want.forEach((w, i) => assertRelClose(got[i], w, 2e-6, `case ${i}`));
  });

  it('max- and average-pool gradients match cpu over global and local pools, ties included', async () => {
    type Pool = { h: number; w: number; k: [number, number]; s: number; pad: 'same' | 'valid' };
    const pools: Pool[] = [
      { h: 7, w: 7, k: [7, 7], s: 7, pad: 'valid' }, // global, as in CBAM
      { h: 4, w: 5, k: [4, 5], s: 1, pad: 'valid' },
      { h: 5, w: 5, k: [1, 1], s: 1, pad: 'valid' }, // the stock wasm MaxPoolGrad gets these wrong
      { h: 6, w: 7, k: [2, 2], s: 1, pad: 'same' },
      { h: 7, w: 6, k: [3, 3], s: 2, pad: 'same' },
      { h: 8, w: 8, k: [2, 2], s: 2, pad: 'valid' },
    ];
    // relu6 of a wide normal: many exact 0s and 6s, so the max gradient must pick the same (first) pixel as cpu.
    const run = () => tf.tidy(() => pools.flatMap((p, i) => {
      const c = 4 + (i % 3) * 3; // 4, 7, 10 channels: SIMD lanes and tails
      const x = tf.relu6(tf.randomNormal([2, p.h, p.w, c], 3, 6, 'float32', 50 + i)) as tf.Tensor4D;
      const pooledShape = (tf.maxPool(x, p.k, p.s, p.pad)).shape;
      const weights = tf.randomNormal(pooledShape, 0, 1, 'float32', 60 + i);
      const loss = (pool: (t: tf.Tensor4D) => tf.Tensor4D) => (t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), weights));
      return [
        tf.grad(loss((t) => tf.maxPool(t, p.k, p.s, p.pad)))(x).dataSync() as Float32Array,
        tf.grad(loss((t) => tf.avgPool(t, p.k, p.s, p.pad)))(x).dataSync() as Float32Array,
      ];
    }));
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const got = run();
    want.forEach((w, i) => assertRelClose(got[i], w, 1e-6, `pool ${Math.floor(i / 2)} ${i % 2 ? 'avg' : 'max'}`));
  });

  it('relu6 gradient: dy exactly where 0 < x ≤ 6, including both kinks, in SIMD lanes and the tail', async () => {
    await tf.setBackend('wasm');
    const x = [-1, 0, 1e-7, 3, 6, 6.0001, 7, -0, 5.99, 0.5, 6];
    const want = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1].map((m, i) => m * (i + 1));
    const got = tf.tidy(() => {
      const dy = tf.tensor1d(x.map((_, i) => i + 1));
      return Array.from((tf.engine().runKernel('XaiRelu6Grad', { dy, x: tf.tensor1d(x) }) as tf.Tensor).dataSync());
    });
    assert.deepEqual(got, want);
  });

  it('leave no tensors or wasm buffers behind (their scratch space included)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const step = () => tf.tidy(() => {
      const x = tf.randomNormal([4, 5, 5, 7]);
      const f = (xx: tf.Tensor) => {
        const r = batchNormTraining(xx, tf.ones([7]) as tf.Tensor1D, tf.zeros([7]) as tf.Tensor1D, 1e-3);
        r.mean.dispose();
        r.variance.dispose();
        const y = tf.relu6(r.y) as tf.Tensor4D;
        return tf.add(tf.sum(tf.maxPool(y, 2, 1, 'same')), tf.sum(tf.avgPool(y, [5, 5], [5, 5], 'valid')));
      };
      tf.grad(f)(x).dataSync();
    });
    step();
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids);
  });

  it('keep working after the wasm memory grows (they hold offsets, never views)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const run = () => tf.tidy(() => {
      const x = tf.randomNormal([8, 6, 6, 10], 1, 2, 'float32', 80);
      return Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.relu6(batchNormTraining(t, tf.ones([10]) as tf.Tensor1D, tf.zeros([10]) as tf.Tensor1D, 1e-3).y)))(x).dataSync());
    });
    const before = run();
    const heapBytes = () => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer.byteLength;
    const size = heapBytes();
    const big = tf.zeros([size / 4 + 1024]); // larger than the whole heap: it must grow
    assert.ok(heapBytes() > size, 'the heap grew');
    assert.deepEqual(run(), before);
    big.dispose();
  });

  it('the build refuses an AssemblyScript module with static data (it would overwrite the tfjs heap)', function () {
    this.timeout(60_000);
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'good.ts'), 'export function twice(x: i32): i32 { return 2 * x; }\n');
      writeFileSync(join(dir, 'bad.ts'), 'const TABLE: StaticArray<i32> = [1, 2, 3];\nexport function at(i: i32): i32 { return TABLE[i]; }\n');
      const plugin = pathToFileURL(resolve('scripts/esbuild-assemblyscript.mjs')).href;
      const build = (name: string) => spawnSync(process.execPath, ['--input-type=module', '-e', `
        import * as esbuild from 'esbuild';
        import { assemblyScriptPlugin } from ${JSON.stringify(plugin)};
        const r = await esbuild.build({ stdin: { contents: "import b from './${name}.wasm'; console.log(b.length);", resolveDir: ${JSON.stringify(dir)} },
          bundle: true, write: false, platform: 'node', target: 'node20', plugins: [assemblyScriptPlugin], logLevel: 'silent' })
          .catch((e) => { console.log('ERROR ' + e.errors.map((x) => x.text).join('; ')); process.exit(3); });
        console.log('OK ' + r.outputFiles[0].text.length);
      `], { encoding: 'utf8' });
      const good = build('good');
      assert.equal(good.status, 0, good.stderr + good.stdout);
      assert.match(good.stdout, /^OK \d+/);
      const bad = build('bad');
      assert.equal(bad.status, 3, bad.stderr + bad.stdout);
      assert.match(bad.stdout, /bad\.ts: the module has static data/);
    } finally {
      cleanup();
    }
  });

  it('name the kernel and the problem for an unsupported dtype', async () => {
    await tf.setBackend('wasm');
    assert.throws(
      () => tf.tidy(() => tf.engine().runKernel('XaiRelu6Grad', { dy: tf.tensor1d([1], 'int32'), x: tf.tensor1d([1], 'int32') })),
      /XaiRelu6Grad \(wasm\): unsupported dtype 'int32'/,
    );
  });
});
