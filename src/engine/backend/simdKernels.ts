/**
 * SIMD kernels for the wasm backend (AssemblyScript source in ./simd/kernels.ts) and the tfjs kernels built on them:
 * - new fused kernels `XaiBatchNormTraining`, `XaiBatchNormTrainingGrad` and `XaiRelu6Grad`, registered for wasm only;
 *   the ops that use them (fastLayers.ts, fastGradients.ts) fall back to composite tfjs ops on every other backend;
 * - replacements for stock wasm kernels, registered by wasmKernels.ts: FusedBatchNorm, MaxPoolGrad, AvgPoolGrad (global
 *   pools) and the depthwise filter gradient.
 * test/unit/simdKernels.test.ts compares each with the cpu backend.
 *
 * The module is instantiated once per backend with the backend's own WebAssembly.Memory, so it reads and writes tensors
 * where they lie. It is handed heap offsets, which stay valid when the memory grows (only JS views would be detached).
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { AvgPoolGradAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import simdWasm from './simd/kernels.wasm';
import { input, requireFloat32, type KernelArgs } from './kernelArgs';

/** Exports of simd/kernels.ts; pointers are byte offsets into the backend's memory. */
export interface SimdExports {
  batchNormForward(x: number, y: number, mean: number, variance: number, gamma: number, beta: number, scratch: number,
    rows: number, c: number, epsilon: number): void;
  batchNormBackward(x: number, dy: number, mean: number, variance: number, gamma: number, scratch: number, dx: number,
    dgamma: number, dbeta: number, rows: number, c: number, epsilon: number): void;
  batchNormInference(x: number, y: number, mean: number, variance: number, scale: number, offset: number,
    scratch: number, rows: number, c: number, epsilon: number, hasScale: boolean, hasOffset: boolean): void;
  relu6Backward(dy: number, x: number, dx: number, n: number): void;
  globalAvgPoolGrad(dy: number, dx: number, n: number, hw: number, c: number): void;
  maxPoolGrad(x: number, dy: number, dx: number, scratch: number, n: number, h: number, w: number, c: number,
    oh: number, ow: number, fh: number, fw: number, sh: number, sw: number, dh: number, dw: number, top: number,
    left: number): void;
  depthwiseFilterGrad(x: number, dy: number, out: number, scratch: number, n: number, h: number, w: number, c: number,
    m: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number,
    top: number, left: number): void;
}

/** The backend's emscripten module: `asm` holds the instance's exports, among them its memory. */
interface WasmModuleWithMemory {
  asm?: { memory?: WebAssembly.Memory };
}

const instances = new WeakMap<BackendWasm, SimdExports>();
let compiled: WebAssembly.Module | undefined;

/** The SIMD kernels bound to this backend's memory (instantiated on first use; the module is a few KB). */
export function simdKernels(backend: BackendWasm): SimdExports {
  let k = instances.get(backend);
  if (k) return k;
  const memory = (backend.wasm as unknown as WasmModuleWithMemory).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error('wasm SIMD kernels: the wasm backend does not expose its memory (unsupported tfjs-backend-wasm version)');
  }
  compiled ??= new WebAssembly.Module(simdWasm);
  k = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdExports;
  instances.set(backend, k);
  return k;
}

/** Byte offset of a tensor's data on the wasm heap. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** The named inputs, each required to be present and float32. */
function float32Inputs(args: KernelArgs, kernel: string, names: string[]): TensorInfo[] {
  return names.map((n) => {
    const t = input(args, n, kernel);
    requireFloat32(t, kernel);
    return t;
  });
}

/**
 * Runs `body` with a float32 scratch buffer of `floats` on the heap (its byte offset), freed afterwards. Offsets stay
 * valid when the memory grows; only JS views of it are detached.
 */
export function withHeapScratch(backend: BackendWasm, floats: number, body: (offset: number) => void): void {
  const scratch = backend.makeOutput([floats], 'float32');
  try {
    body(heapOffset(backend, scratch));
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/** The outputs of a per-channel kernel over x [..., C]: one shaped like x and two [C] vectors. */
function perChannelOutputs(backend: BackendWasm, x: TensorInfo): { rows: number; c: number; outs: [TensorInfo, TensorInfo, TensorInfo] } {
  const c = x.shape[x.shape.length - 1];
  const outs: [TensorInfo, TensorInfo, TensorInfo] = [
    backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32'),
  ];
  return { rows: tf.util.sizeFromShape(x.shape) / c, c, outs };
}

/** x [..., C] → y, batch mean [C], batch (biased) variance [C]. Attr: epsilon. */
const batchNormTraining: KernelFunc = (args) => {
  const name = 'XaiBatchNormTraining';
  const backend = args.backend as BackendWasm;
  const [x, gamma, beta] = float32Inputs(args, name, ['x', 'gamma', 'beta']);
  const { rows, c, outs } = perChannelOutputs(backend, x);
  const [y, mean, variance] = outs.map((t) => heapOffset(backend, t));
  const at = (t: TensorInfo) => heapOffset(backend, t);
  withHeapScratch(backend, 5 * c, (scratch) => simdKernels(backend).batchNormForward(at(x), y, mean, variance, at(gamma),
    at(beta), scratch, rows, c, (args.attrs as { epsilon: number }).epsilon));
  return outs;
};

/** (x, dy, mean, variance, gamma) → dx, dgamma, dbeta. Attr: epsilon. */
const batchNormTrainingGrad: KernelFunc = (args) => {
  const name = 'XaiBatchNormTrainingGrad';
  const backend = args.backend as BackendWasm;
  const inputs = float32Inputs(args, name, ['x', 'dy', 'mean', 'variance', 'gamma']);
  const { rows, c, outs } = perChannelOutputs(backend, inputs[0]);
  const [x, dy, mean, variance, gamma] = inputs.map((t) => heapOffset(backend, t));
  const [dx, dgamma, dbeta] = outs.map((t) => heapOffset(backend, t));
  withHeapScratch(backend, 9 * c, (scratch) => simdKernels(backend).batchNormBackward(x, dy, mean, variance, gamma,
    scratch, dx, dgamma, dbeta, rows, c, (args.attrs as { epsilon: number }).epsilon));
  return outs;
};

/**
 * Replacement for the stock wasm FusedBatchNorm (inference batch norm), which runs a scalar loop: it was 55 % of an
 * inference pass of the ~11 M-MAC model. Per-channel statistics (the only kind tfjs-layers makes) take the SIMD
 * kernel; anything else goes to the stock kernel.
 */
export function fusedBatchNorm(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x, mean, variance, scale, offset } = args.inputs as Record<string, TensorInfo | undefined>;
    if (x == null || mean == null || variance == null) return stock(args);
    const c = x.shape[x.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined) => t == null || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === c && t.shape.length === 1);
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || size === 0 || ![mean, variance, scale, offset].every(perChannel)) return stock(args);
    const y = backend.makeOutput(x.shape, 'float32');
    const at = (t: TensorInfo | undefined) => (t == null ? 0 : heapOffset(backend, t));
    withHeapScratch(backend, 2 * c, (scratch) => simdKernels(backend).batchNormInference(at(x), at(y), at(mean),
      at(variance), at(scale), at(offset), scratch, size / c, c,
      (args.attrs as { varianceEpsilon: number }).varianceEpsilon, scale != null, offset != null));
    return y;
  };
}

/** Pool geometry of a MaxPoolGrad/AvgPoolGrad call over a float32 NHWC input, or undefined for other dtypes. */
function poolGradInfo(args: KernelArgs): backend_util.Conv2DInfo | undefined {
  const input = args.inputs['input'];
  const dy = args.inputs['dy'];
  if (input == null || dy == null || input.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as Pick<AvgPoolGradAttrs, 'filterSize' | 'strides' | 'pad'> & { dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  return backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/**
 * Replacement for the stock wasm MaxPoolGrad, which sends gradients to wrong pixels for some pools (a 1×1 pool, or
 * 2×2 with stride 1; see simd/kernels.ts) and was, with AvgPoolGrad, 12 % of a training step in CBAM's global pools.
 */
export function maxPoolGrad(stock: KernelFunc): KernelFunc {
  return (args) => {
    const info = poolGradInfo(args);
    if (info === undefined) return stock(args);
    const backend = args.backend as BackendWasm;
    const [input, dy] = [args.inputs['input']!, args.inputs['dy']!];
    const dx = backend.makeOutput(input.shape, 'float32');
    withHeapScratch(backend, 2 * info.inChannels, (scratch) => simdKernels(backend).maxPoolGrad(heapOffset(backend, input),
      heapOffset(backend, dy), heapOffset(backend, dx), scratch, info.batchSize, info.inHeight, info.inWidth,
      info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight,
      info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left));
    return dx;
  };
}

/** AvgPoolGrad for global pooling (one full window, as in CBAM and SE) in one SIMD pass; other pools stay stock. */
export function avgPoolGrad(stock: KernelFunc): KernelFunc {
  return (args) => {
    const info = poolGradInfo(args);
    const global = info !== undefined && info.outHeight === 1 && info.outWidth === 1 && info.padInfo.top === 0 &&
      info.padInfo.left === 0 && info.filterHeight === info.inHeight && info.filterWidth === info.inWidth;
    if (!global) return stock(args);
    const backend = args.backend as BackendWasm;
    const [input, dy] = [args.inputs['input']!, args.inputs['dy']!];
    const dx = backend.makeOutput(input.shape, 'float32');
    simdKernels(backend).globalAvgPoolGrad(heapOffset(backend, dy), heapOffset(backend, dx), info.batchSize,
      info.inHeight * info.inWidth, info.inChannels);
    return dx;
  };
}

/** (dy, x) → dy where 0 < x ≤ 6, else 0. */
const relu6Grad: KernelFunc = (args) => {
  const name = 'XaiRelu6Grad';
  const backend = args.backend as BackendWasm;
  const [dy, x] = float32Inputs(args, name, ['dy', 'x']);
  const dx = backend.makeOutput(x.shape, 'float32');
  simdKernels(backend).relu6Backward(heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, dx),
    tf.util.sizeFromShape(x.shape));
  return dx;
};

export type FusedKernelName = 'XaiBatchNormTraining' | 'XaiBatchNormTrainingGrad' | 'XaiRelu6Grad';

export const SIMD_FUSED_KERNELS: Record<FusedKernelName, KernelFunc> = {
  XaiBatchNormTraining: batchNormTraining,
  XaiBatchNormTrainingGrad: batchNormTrainingGrad,
  XaiRelu6Grad: relu6Grad,
};

/** Registers the fused kernels on the wasm backend (idempotent). */
export function registerSimdKernels(): void {
  for (const [kernelName, kernelFunc] of Object.entries(SIMD_FUSED_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm') == null) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}

/** Whether the active backend has one of the fused kernels (only wasm does). */
export function hasFusedKernel(name: FusedKernelName): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}
