import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  registerWasmTrainingKernels,
  restoreStockWasmKernels,
  WASM_TRAINING_KERNELS,
} from '../../src/engine/backend/wasmKernels';

// Every kernel is checked against the cpu backend on the same seeded data. Tolerance: the backends accumulate the
// same float32 products in different orders (XNNPACK tiles vs. plain loops), so differences grow like
// (terms summed) x eps32 (6e-8) x magnitude: at most ~1e-5 relative for the sizes below. 1e-4 of the largest
// reference magnitude leaves ~10x headroom, while any indexing mistake (wrong tap, phase, padding or layout) shows up
// as an O(1) relative error.
const REL_TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Spec {
  shape: number[];
  dtype?: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

interface Case {
  label: string;
  kernel: string;
  inputs: Record<string, Spec>;
  attrs: Record<string, unknown>;
  /** Reference computed another way on cpu, where the cpu kernel itself is not one. */
  reference?: () => Result;
}

/** Small LCG, so every run (and both backends) sees the same numbers. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

let seedCounter = 1;
function randn(shape: number[]): Spec {
  const next = lcg(seedCounter++ * 7919);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
  return { shape, data };
}

function toTensors(inputs: Record<string, Spec>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = tf.tensor(v.data, v.shape, v.dtype ?? 'float32');
  return out;
}

interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

function runCase(c: Case): Result {
  return tf.tidy(() => {
    const y = tf.engine().runKernel(c.kernel, toTensors(c.inputs), c.attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: y.shape, values: y.dataSync() as Float32Array };
  });
}

function assertClose(actual: Result, expected: Result, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.values.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected.values[i]));
    maxDiff = Math.max(maxDiff, Math.abs(actual.values[i] - expected.values[i]));
  }
  assert.ok(Number.isFinite(maxDiff), `${label}: non-finite values`);
  const tol = REL_TOL * Math.max(1, maxRef);
  assert.ok(maxDiff <= tol, `${label}: max abs diff ${maxDiff} > ${tol}`);
}

/** Runs all cases on cpu first, then on wasm (switching backends once per batch, not per case). */
async function compareOnBackends(cases: Case[]): Promise<void> {
  await tf.setBackend('cpu');
  const expected = cases.map((c) => (c.reference ? c.reference() : runCase(c)));
  await tf.setBackend('wasm');
  cases.forEach((c, i) => assertClose(runCase(c), expected[i], c.label));
}

function wasmDataIds(): number {
  return (tf.backend() as BackendWasm).numDataIds();
}

/** Runs a case repeatedly on wasm and checks that neither tensors nor backend buffers pile up. */
function assertNoLeak(c: Case): void {
  runCase(c); // first call may allocate lazily-created state
  const tensors = tf.memory().numTensors;
  const ids = wasmDataIds();
  for (let i = 0; i < 3; i++) runCase(c);
  assert.equal(tf.memory().numTensors, tensors, `${c.label}: tensors leaked`);
  assert.equal(wasmDataIds(), ids, `${c.label}: wasm buffers leaked`);
}

// [batch, height, width, inChannels, outChannels]
const CONV_SHAPES: [number, number, number, number, number][] = [
  [1, 7, 9, 3, 4],
  [3, 13, 14, 5, 2],
  [3, 9, 7, 8, 16],
  [1, 14, 13, 2, 3],
];
const KERNEL_SIZES = [1, 3, 5, 7];
const STRIDES = [1, 2];
const PADS: Pad[] = ['same', 'valid'];
const EXPLICIT: Pad = [[0, 0], [2, 1], [0, 3], [0, 0]];

function convGrid(): { n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: Pad }[] {
  const grid = [];
  for (const [n, h, w, ci, co] of CONV_SHAPES) {
    for (const k of KERNEL_SIZES) {
      for (const s of STRIDES) {
        for (const pad of PADS) {
          if (pad === 'valid' && (k > h || k > w)) continue;
          grid.push({ n, h, w, ci, co, k, s, pad });
        }
      }
    }
  }
  // Explicit padding exercises the crop paths (padding larger than the filter reach, uneven sides).
  grid.push({ n: 2, h: 9, w: 8, ci: 3, co: 5, k: 3, s: 2, pad: EXPLICIT });
  grid.push({ n: 1, h: 10, w: 11, ci: 4, co: 2, k: 3, s: 1, pad: EXPLICIT });
  grid.push({ n: 2, h: 8, w: 8, ci: 2, co: 3, k: 1, s: 2, pad: EXPLICIT });
  return grid;
}

function outShape(xShape: number[], fShape: number[], s: number, pad: Pad, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], fShape as [number, number, number, number], s, 1, pad, undefined,
    depthwise);
  return info.outShape;
}

function label(kernel: string, g: ReturnType<typeof convGrid>[number]): string {
  return `${kernel} N${g.n} ${g.h}x${g.w} C${g.ci}->${g.co} k${g.k} s${g.s} ${JSON.stringify(g.pad)}`;
}

function conv2dCases(): Case[] {
  const cases: Case[] = [];
  for (const g of convGrid()) {
    const xShape = [g.n, g.h, g.w, g.ci];
    const fShape = [g.k, g.k, g.ci, g.co];
    const dyShape = outShape(xShape, fShape, g.s, g.pad, false);
    const common = { strides: [g.s, g.s], pad: g.pad, dataFormat: 'NHWC' };
    cases.push({
      label: label('Conv2DBackpropFilter', g),
      kernel: 'Conv2DBackpropFilter',
      inputs: { x: randn(xShape), dy: randn(dyShape) },
      attrs: { ...common, filterShape: fShape },
    });
    cases.push({
      label: label('Conv2DBackpropInput', g),
      kernel: 'Conv2DBackpropInput',
      inputs: { dy: randn(dyShape), filter: randn(fShape) },
      attrs: { ...common, inputShape: xShape },
    });
  }
  return cases;
}

function depthwiseCases(): Case[] {
  const cases: Case[] = [];
  for (const g of convGrid()) {
    const xShape = [g.n, g.h, g.w, g.ci];
    const fShape = [g.k, g.k, g.ci, 1];
    const dyShape = outShape(xShape, fShape, g.s, g.pad, true);
    const common = { strides: [g.s, g.s], pad: g.pad, dilations: [1, 1] };
    cases.push({
      label: label('DepthwiseConv2dNativeBackpropFilter', g),
      kernel: 'DepthwiseConv2dNativeBackpropFilter',
      inputs: { x: randn(xShape), dy: randn(dyShape) },
      attrs: { ...common, filterShape: fShape },
    });
    cases.push({
      label: label('DepthwiseConv2dNativeBackpropInput', g),
      kernel: 'DepthwiseConv2dNativeBackpropInput',
      inputs: { dy: randn(dyShape), filter: randn(fShape) },
      attrs: { ...common, inputShape: xShape },
    });
  }
  // Channel multiplier 2 (filter gradient only) and a dilated stride-1 case.
  const xShape = [3, 9, 8, 4];
  cases.push({
    label: 'DepthwiseConv2dNativeBackpropFilter multiplier 2',
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    inputs: { x: randn(xShape), dy: randn(outShape(xShape, [3, 3, 4, 2], 2, 'same', true)) },
    attrs: { strides: [2, 2], pad: 'same', dilations: [1, 1], filterShape: [3, 3, 4, 2] },
  });
  cases.push(...dilatedDepthwiseCases());
  return cases;
}

/** [K,K,C,M] filter with d-1 zero rows/cols between taps: a dilation-d filter as a dilation-1 one. */
function dilateFilter(f: Spec, d: number): Spec {
  const [k, , c, m] = f.shape;
  const ke = (k - 1) * d + 1;
  const data = new Float32Array(ke * ke * c * m);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const from = (i * k + j) * c * m;
      data.set(f.data.subarray(from, from + c * m), (i * d * ke + j * d) * c * m);
    }
  }
  return { shape: [ke, ke, c, m], data };
}

/**
 * Dilated depthwise gradients. The cpu backprop kernels ignore `dilations` (tfjs refuses gradients of dilated convs),
 * so the reference runs them on the equivalent zero-dilated filter instead.
 */
function dilatedDepthwiseCases(): Case[] {
  const d = 2;
  const xShape = [2, 11, 10, 3];
  const filter = randn([3, 3, 3, 1]);
  const wide = dilateFilter(filter, d);
  const dyShape = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], [3, 3, 3, 1], 1, d, 'same', undefined, true).outShape;
  const x = randn(xShape);
  const dy = randn(dyShape);
  const base = { strides: [1, 1], pad: 'same' };
  const filterCase: Case = {
    label: 'DepthwiseConv2dNativeBackpropFilter dilation 2',
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    inputs: { x, dy },
    attrs: { ...base, dilations: [d, d], filterShape: [3, 3, 3, 1] },
    reference: () => {
      const full = runCase({ ...filterCase, attrs: { ...base, dilations: [1, 1], filterShape: wide.shape } });
      const taps = tf.tidy(() =>
        tf.tensor(full.values, full.shape).stridedSlice([0, 0, 0, 0], wide.shape, [d, d, 1, 1]).dataSync());
      return { shape: [3, 3, 3, 1], values: taps as Float32Array };
    },
  };
  const inputCase: Case = {
    label: 'DepthwiseConv2dNativeBackpropInput dilation 2',
    kernel: 'DepthwiseConv2dNativeBackpropInput',
    inputs: { dy, filter },
    attrs: { ...base, dilations: [d, d], inputShape: xShape },
    reference: () => runCase({ ...inputCase, inputs: { dy, filter: wide }, attrs: { ...base, dilations: [1, 1],
      inputShape: xShape } }),
  };
  return [filterCase, inputCase];
}

function matMulCases(): Case[] {
  const cases: Case[] = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const aShape = ta ? [3, 7, 5] : [3, 5, 7];
      const bShape = tb ? [3, 6, 7] : [3, 7, 6];
      cases.push({
        label: `BatchMatMul tA=${ta} tB=${tb}`,
        kernel: 'BatchMatMul',
        inputs: { a: randn(aShape), b: randn(bShape) },
        attrs: { transposeA: ta, transposeB: tb },
      });
      cases.push({
        label: `BatchMatMul broadcast tA=${ta} tB=${tb}`,
        kernel: 'BatchMatMul',
        inputs: { a: randn(ta ? [1, 9, 4] : [1, 4, 9]), b: randn(tb ? [2, 3, 8, 9] : [2, 3, 9, 8]) },
        attrs: { transposeA: ta, transposeB: tb },
      });
    }
  }
  return cases;
}

function reduceCases(): Case[] {
  const cases: Case[] = [];
  const axesList: (number | number[])[] = [[0, 1, 2], [1, 2], [0], [1], [3], [2, 3], [0, 2], [0, 1, 2, 3], -2, [-4, -3]];
  for (const kernel of ['Sum', 'Mean']) {
    for (const axis of axesList) {
      for (const keepDims of [false, true]) {
        cases.push({
          label: `${kernel} axis=${JSON.stringify(axis)} keepDims=${keepDims}`,
          kernel,
          inputs: { x: randn([3, 5, 6, 4]) },
          attrs: { axis, keepDims },
        });
      }
    }
  }
  for (const kernel of ['Sum', 'Mean']) {
    for (const [shape, axis] of [[[1, 5, 6, 4], [0, 1, 2]], [[1, 1, 7, 3], [0, 1, 2]], [[6, 4], [0]], [[8, 28, 28, 4], [0, 1, 2]]]) {
      cases.push({ label: `${kernel} ${shape} axis=${axis}`, kernel, inputs: { x: randn(shape as number[]) },
        attrs: { axis, keepDims: false } });
    }
  }
  const ints = Int32Array.from({ length: 60 }, (_, i) => (i * 7) % 11 - 5);
  cases.push({ label: 'Sum int32', kernel: 'Sum', inputs: { x: { shape: [3, 4, 5], dtype: 'int32', data: ints } },
    attrs: { axis: [0, 1], keepDims: false } });
  return cases;
}

function sliceCases(): Case[] {
  const x = randn([2, 9, 8, 5]);
  return [
    // The gradient of a pad: the whole batch and every channel, a spatial window (the fast path).
    { label: 'Slice spatial window', kernel: 'Slice', inputs: { x }, attrs: { begin: [0, 1, 2, 0], size: [2, 7, 5, 5] } },
    { label: 'Slice window with -1 sizes', kernel: 'Slice', inputs: { x }, attrs: { begin: [0, 3, 0, 0], size: [-1, -1, 4, -1] } },
    // Anything else goes to the stock kernel.
    { label: 'Slice of channels', kernel: 'Slice', inputs: { x }, attrs: { begin: [0, 0, 0, 1], size: [2, 9, 8, 3] } },
    { label: 'Slice of one image', kernel: 'Slice', inputs: { x }, attrs: { begin: [1, 2, 2, 0], size: [1, 4, 4, 5] } },
    { label: 'Slice 2-D', kernel: 'Slice', inputs: { x: randn([6, 7]) }, attrs: { begin: [1, 2], size: [3, 4] } },
  ];
}

function segmentCase(): Case {
  const ids = Int32Array.from([0, 3, 1, 3, -1, 2, 0, 5, 4, 3]);
  return {
    label: 'UnsortedSegmentSum',
    kernel: 'UnsortedSegmentSum',
    inputs: { x: randn([10, 3, 4]), segmentIds: { shape: [10], dtype: 'int32', data: ids } },
    attrs: { numSegments: 5 },
  };
}

describe('wasm training kernels', function () {
  this.timeout(60000);

  before(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });

  after(async () => {
    await tf.setBackend('cpu');
  });

  it('registers every listed kernel on wasm, idempotently, and can restore the stock ones', () => {
    const current = () => WASM_TRAINING_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    const funcs = current();
    assert.ok(funcs.every((f) => f != null));
    registerWasmTrainingKernels();
    assert.deepEqual(current(), funcs);
    restoreStockWasmKernels();
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined); // stock wasm lacks it
    assert.notEqual(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc, funcs[WASM_TRAINING_KERNELS.indexOf('BatchMatMul')]);
    registerWasmTrainingKernels();
    assert.ok(current().every((f) => f != null));
  });

  it('Conv2DBackpropFilter and Conv2DBackpropInput match cpu', async () => {
    await compareOnBackends(conv2dCases());
  });

  it('depthwise backprop kernels match cpu', async () => {
    await compareOnBackends(depthwiseCases());
  });

  it('BatchMatMul matches cpu for every transpose combination', async () => {
    await compareOnBackends(matMulCases());
  });

  it('Sum and Mean match cpu over leading, middle and trailing axes', async () => {
    await compareOnBackends(reduceCases());
  });

  it('Slice matches cpu on spatial windows and on what it leaves to the stock kernel', async () => {
    await compareOnBackends(sliceCases());
  });

  it('UnsortedSegmentSum matches cpu and drops out-of-range ids', async () => {
    await compareOnBackends([segmentCase()]);
  });

  it('UnsortedSegmentSum sums int32 exactly', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]], [4, 2], 'int32');
    const y = tf.unsortedSegmentSum(x, tf.tensor1d([1, 0, 1, 7], 'int32'), 3);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(Array.from(y.dataSync()), [3, 4, 6, 8, 0, 0]);
    tf.dispose([x, y]);
  });

  it('refuses unsupported configurations with the kernel name and value', async () => {
    await tf.setBackend('wasm');
    const c: Case = {
      label: 'multiplier 2',
      kernel: 'DepthwiseConv2dNativeBackpropInput',
      inputs: { dy: randn([1, 5, 5, 6]), filter: randn([3, 3, 3, 2]) },
      attrs: { strides: [1, 1], pad: 'same', dilations: [1, 1], inputShape: [1, 5, 5, 3] },
    };
    assert.throws(() => runCase(c), /DepthwiseConv2dNativeBackpropInput.*multiplier 2/);
    const nchw: Case = {
      label: 'nchw',
      kernel: 'Conv2DBackpropFilter',
      inputs: { x: randn([1, 3, 5, 5]), dy: randn([1, 2, 5, 5]) },
      attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 2] },
    };
    assert.throws(() => runCase(nchw), /Conv2DBackpropFilter.*NCHW/);
  });

  it('leaves no intermediate tensors or buffers behind', async () => {
    await tf.setBackend('wasm');
    const pick = (cases: Case[], re: RegExp) => cases.filter((c) => re.test(c.label));
    const cases = [
      ...pick(conv2dCases(), /N3 13x14 .* k3 s2 "same"|EXPLICIT|\[\[0,0\],\[2,1\]/),
      ...pick(conv2dCases(), /k1 s1 "same"/).slice(0, 2),
      ...pick(depthwiseCases(), /N3 13x14 .* k5 s2 "valid"|multiplier|dilation/),
      ...matMulCases(),
      ...pick(reduceCases(), /axis=\[0,1,2\]|axis=\[1,2\]/),
      segmentCase(),
    ];
    assert.ok(cases.length > 10);
    for (const c of cases) assertNoLeak(c);
  });

  // The wasm GEMM caches a packed copy of its right operand by buffer id, not shape: reusing a buffer in another
  // shape after it was cached reads a stale operator (and writes out of bounds). These kernels must never put a
  // caller's buffer into that cache.
  it('never leaves a caller buffer in the wasm GEMM cache', async () => {
    await tf.setBackend('cpu');
    const vals = Float32Array.from({ length: 72 }, (_, i) => (i % 7) - 3);
    const expected = () => [
      tf.sum(tf.tensor(vals, [1, 4, 6, 3]), [0, 1, 2]),
      tf.sum(tf.tensor(vals, [1, 4, 6, 3]), [0, 1]),
      tf.matMul(tf.ones([4, 2]), tf.tensor(vals.subarray(0, 24), [4, 6]), true, false),
      tf.matMul(tf.ones([1, 8]), tf.tensor(vals.subarray(0, 24), [8, 3])),
      tf.matMul(tf.ones([1, 12]), tf.tensor(vals.subarray(0, 48), [12, 4])),
    ].map((t) => Array.from(t.dataSync()));
    const want = tf.tidy(expected);
    await tf.setBackend('wasm');
    const got = tf.tidy(() => {
      const x = tf.tensor(vals, [1, 4, 6, 3]);
      const b = tf.tensor(vals.subarray(0, 24), [4, 6]);
      const dy = tf.tensor(vals.subarray(0, 48), [1, 4, 6, 2]);
      // Each pair uses one buffer in two shapes; the first use goes through a kernel of this module.
      const r = [tf.sum(x, [0, 1, 2]), tf.sum(x, [0, 1]), tf.matMul(tf.ones([4, 2]), b, true, false),
        tf.matMul(tf.ones([1, 8]), tf.reshape(b, [8, 3]))];
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.slice(x, [0, 0, 0, 0], [1, 4, 6, 3]), dy },
        { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 3, 2] });
      r.push(tf.matMul(tf.ones([1, 12]), tf.reshape(dy, [12, 4])));
      return r.map((t) => Array.from(t.dataSync()));
    });
    assert.deepEqual(got, want);
  });

  it('gradients of a small conv -> depthwise -> conv -> mean network match cpu', async () => {
    const x = randn([3, 13, 13, 3]);
    const w1 = randn([3, 3, 3, 8]);
    const w2 = randn([3, 3, 8, 1]);
    const w3 = randn([1, 1, 8, 5]);
    const target = randn([3, 4, 4, 5]);
    const run = (): Result[] =>
      tf.tidy(() => {
        const [tx, t1, t2, t3, tt] = [x, w1, w2, w3, target].map((s) => tf.tensor(s.data, s.shape));
        const f = (...args: tf.Tensor[]): tf.Scalar => {
          const [xi, a, b, c] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
          const h1 = tf.conv2d(xi, a, 2, 'same');
          const centered = tf.sub<tf.Tensor4D>(h1, tf.mean(h1, [0, 1, 2], true)); // batch-norm style leading-axis mean
          const h2 = tf.depthwiseConv2d(tf.relu(centered), b, 2, 'same');
          const h3 = tf.conv2d(h2, c, 1, 'valid');
          return tf.mean(tf.square(tf.sub(h3, tt)));
        };
        return tf.grads(f)([tx, t1, t2, t3]).map((g) => ({ shape: g.shape, values: g.dataSync() as Float32Array }));
      });
    await tf.setBackend('cpu');
    const expected = run();
    await tf.setBackend('wasm');
    const actual = run();
    actual.forEach((a, i) => assertClose(a, expected[i], `gradient ${i}`));
  });
});
