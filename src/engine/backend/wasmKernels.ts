/**
 * Training kernels for the TensorFlow.js wasm backend.
 *
 * Stock `@tensorflow/tfjs-backend-wasm` 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput or UnsortedSegmentSum (so a CNN cannot train on it), its Conv2DBackpropInput is a
 * naive loop (~1.6 GFLOP/s against ~25 GFLOP/s for the XNNPACK forward conv), BatchMatMul with transpose flags is
 * ~15x slower than without, and Sum/Mean over leading axes transpose the whole input first. Every kernel here is
 * therefore composed from the backend's own fast kernels (XNNPACK convolutions and GEMM, native transposes): a
 * gradient convolution is rewritten as a forward convolution over transposed or re-indexed operands.
 *
 * Where no composition is fast, the kernel is a SIMD loop over the heap (simdKernels.ts): the depthwise filter
 * gradient, and replacements for three stock kernels that are scalar loops or wrong (FusedBatchNorm, MaxPoolGrad,
 * AvgPoolGrad).
 *
 * Only NHWC matters to this project; anything else is refused with an error that names the kernel and the value.
 *
 * One hazard shapes several choices below: the wasm GEMM (BatchMatMul with batch 1 on both sides and no transpose
 * flags, the only case that reaches XNNPACK) caches a packed copy of its right operand keyed by buffer id alone, not by
 * shape. Handing it a caller's tensor, or a reshape of one, lets a later product with the same buffer in another shape
 * reuse the stale operator and write out of bounds. So the right operand of every such product here is a buffer this
 * module created and frees (which also drops the cache entry).
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util, util } from '@tensorflow/tfjs';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  DataType,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
  UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs';
// Type-only: importing the package for real would register the wasm backend (and make it the default) as a side
// effect of loading this module.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { input, requireFloat32, type KernelArgs } from './kernelArgs';
import { avgPoolGrad, fusedBatchNorm, heapOffset, maxPoolGrad, simdKernels, withHeapScratch } from './simdKernels';

type Shape4 = [number, number, number, number];
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Kernel names this module registers on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'BatchMatMul',
  'Sum',
  'Mean',
  'FusedBatchNorm',
  'MaxPoolGrad',
  'Identity',
  'AvgPoolGrad',
  'Slice',
];

/**
 * Runs wasm kernels on behalf of one composite kernel and frees every intermediate at the end. A wasm Reshape shares
 * its input's buffer but increments its refcount, so disposing each TensorInfo once is right for views too.
 */
class Scratch {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel == null) throw new Error(`wasm training kernels: the wasm kernel '${name}' is not registered`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`wasm training kernels: '${name}' returned several outputs`);
    this.temps.push(out);
    return out;
  }

  output(shape: number[], dtype: DataType): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.temps.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /** A private copy: a fresh buffer id, safe as the cached right operand of the wasm GEMM. The registered Identity
   * shares its input's buffer (`sharedIdentity`), so this calls the stock kernel, which copies. */
  copy(x: TensorInfo): TensorInfo {
    const current = tf.getKernel('Identity', 'wasm');
    const stock = current == null ? undefined : (replacedBy(current.kernelFunc) ?? current);
    if (stock == null) throw new Error("wasm training kernels: the wasm kernel 'Identity' is not registered");
    const out = stock.kernelFunc({ inputs: { x }, backend: this.backend, attrs: {} });
    if (Array.isArray(out)) throw new Error("wasm training kernels: 'Identity' returned several outputs");
    this.temps.push(out);
    return out;
  }

  fill(shape: number[], value: number): TensorInfo {
    return this.run('Fill', {}, { shape, value, dtype: 'float32' });
  }

  conv2d(x: TensorInfo, filter: TensorInfo, pad: Pad4, strides: [number, number], dilations: [number, number]) {
    return this.run('Conv2D', { x, filter }, { strides, pad, dilations, dataFormat: 'NHWC' });
  }

  depthwise(x: TensorInfo, filter: TensorInfo, pad: Pad4, strides: [number, number], dilations: [number, number]) {
    return this.run('DepthwiseConv2dNative', { x, filter }, { strides, pad, dilations });
  }

  /**
   * NHWC window [top, top+h) x [left, left+w), copied in JS: for fixed (n, row) the window is one contiguous run, so
   * this is N*h memcpy-like copies (the stock wasm Slice first copies the whole input out of the heap).
   */
  crop(x: TensorInfo, top: number, left: number, h: number, w: number): TensorInfo {
    const [n, xh, xw, c] = x.shape;
    const out = this.output([n, h, w, c], x.dtype);
    // Views only after makeOutput: allocating can grow (and so detach) the heap.
    const src = this.backend.typedArrayFromHeap(x);
    const dst = this.backend.typedArrayFromHeap(out);
    const run = w * c;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < h; i++) {
        const from = ((b * xh + top + i) * xw + left) * c;
        dst.set(src.subarray(from, from + run), (b * h + i) * run);
      }
    }
    return out;
  }

  /** Takes over a fresh tensor made outside run(). */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Marks `t` as the kernel's result, so that dispose() leaves it alone. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.indexOf(t);
    if (i < 0) throw new Error('wasm training kernels: a kernel result must be a fresh tensor, not an input');
    this.temps.splice(i, 1);
    return t;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

function withScratch(backend: BackendWasm, body: (s: Scratch) => TensorInfo): TensorInfo {
  const s = new Scratch(backend);
  try {
    return s.keep(body(s));
  } finally {
    s.dispose();
  }
}

function wasmBackend(args: KernelArgs): BackendWasm {
  return args.backend as BackendWasm;
}

function requireNhwc(dataFormat: string | undefined, kernel: string): void {
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} (wasm): unsupported dataFormat '${dataFormat}'`);
  }
}

/**
 * Filter gradient as a forward conv: dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s-top+kh*d, ow*s-left+kw*d, ci] *
 * dy[n,oh,ow,co] is a conv of x laid out as [Ci,H,W,N] (batch Ci, channels N) with dy laid out as [Ho,Wo,N,Co] as the
 * filter, where the roles swap: conv stride = forward dilation, conv dilation = forward stride. Padding before is the
 * forward padding; padding after is chosen so the output is exactly KH x KW (rows never read are cropped away).
 */
function filterGradGeometry(
  inSize: number, outSize: number, k: number, stride: number, dilation: number, padBefore: number, kernel: string,
): { keep: number; padAfter: number } {
  let keep = inSize;
  let padAfter = (k - 1) * dilation + (outSize - 1) * stride + 1 - inSize - padBefore;
  if (padAfter < 0) {
    keep += padAfter;
    padAfter = 0;
  }
  if (keep <= 0) throw new Error(`${kernel} (wasm): unsupported padding ${padBefore} for input size ${inSize}`);
  return { keep, padAfter };
}

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const name = 'Conv2DBackpropFilter';
  const backend = wasmBackend(args);
  const x = input(args, 'x', name);
  const dy = input(args, 'dy', name);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  requireNhwc(dataFormat, name);
  requireFloat32(x, name);
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { batchSize: n, inHeight, inWidth, inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;

  return withScratch(backend, (s) => {
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 &&
        outHeight === inHeight && outWidth === inWidth) {
      // Pointwise: dW = x^T dy over all pixels, one GEMM. Explicit Transpose, because the GEMM with a transpose flag
      // is slow. The right operand gets packed (and must be a private copy, see the top of this file), so the side
      // with fewer channels goes there: dW^T = dy^T x when Co > Ci.
      const pixels = n * inHeight * inWidth;
      if (co > ci) {
        const dyT = s.transpose(s.reshape(dy, [1, pixels, co]), [0, 2, 1]);
        const gradT = s.matMul(dyT, s.reshape(s.copy(x), [1, pixels, ci])); // [1, Co, Ci]
        return s.reshape(s.transpose(gradT, [0, 2, 1]), [1, 1, ci, co]);
      }
      const xT = s.transpose(s.reshape(x, [1, pixels, ci]), [0, 2, 1]);
      return s.reshape(s.matMul(xT, s.reshape(s.copy(dy), [1, pixels, co])), [1, 1, ci, co]);
    }
    const rows = filterGradGeometry(inHeight, outHeight, kh, sh, 1, top, name);
    const cols = filterGradGeometry(inWidth, outWidth, kw, sw, 1, left, name);
    const xUsed = rows.keep < inHeight || cols.keep < inWidth ? s.crop(x, 0, 0, rows.keep, cols.keep) : x;
    const xT = s.transpose(xUsed, [3, 1, 2, 0]);
    const dyT = s.transpose(dy, [1, 2, 0, 3]);
    const pads: Pad4 = [[0, 0], [top, rows.padAfter], [left, cols.padAfter], [0, 0]];
    const grad = s.conv2d(xT, dyT, pads, [1, 1], [sh, sw]); // [Ci, KH, KW, Co]
    return s.transpose(grad, [1, 2, 0, 3]);
  });
}

/**
 * Geometry of the sub-pixel form of a transposed convolution along one axis. With stride s the input gradient splits
 * into s phases: dx at h' = h + padBefore = s*q + r only sees filter taps k = r + s*j and dy rows q - j. Each phase is
 * therefore a stride-1 correlation of dy (not zero-upsampled) with a ceil(K/s)-tap sub-filter, and all phases come out
 * of one convolution whose output channels are stacked per phase; interleaving them (depth-to-space) and cropping
 * gives dx. This does ceil(K/s)^2*s^2 instead of K^2*s^2 multiply-adds per dy pixel and runs one large GEMM. Stride 1
 * degenerates to the usual "pad dy, reverse the filter" form, which is also where a dilation (stride 1 only) fits.
 */
interface PhaseAxis {
  /** Sub-filter taps. */
  taps: number;
  /** Rows of dy used, starting at `cropBefore`. */
  cropBefore: number;
  rowsIn: number;
  padBefore: number;
  padAfter: number;
  /** Output rows per phase. */
  rowsOut: number;
  /** Where dx starts in the interleaved output. */
  offset: number;
}

function phaseAxis(k: number, stride: number, dilation: number, pad: number, inSize: number, dySize: number): PhaseAxis {
  const taps = Math.ceil(k / stride);
  const first = Math.floor(pad / stride); // earlier phase rows would only land in the padding
  const rowsOut = Math.ceil((pad + inSize) / stride) - first;
  let padBefore = (taps - 1) * dilation - first;
  let cropBefore = 0;
  if (padBefore < 0) {
    cropBefore = -padBefore;
    padBefore = 0;
  }
  let rowsIn = dySize - cropBefore;
  let padAfter = rowsOut + (taps - 1) * dilation - padBefore - rowsIn;
  if (padAfter < 0) {
    rowsIn += padAfter;
    padAfter = 0;
  }
  return { taps, cropBefore, rowsIn, padBefore, padAfter, rowsOut, offset: pad - stride * first };
}

/** dy restricted to the rows/cols the phase conv reads (a crop only for unusual explicit paddings). */
function phaseInput(s: Scratch, dy: TensorInfo, rows: PhaseAxis, cols: PhaseAxis): TensorInfo {
  const [, h, w] = dy.shape;
  if (rows.cropBefore === 0 && cols.cropBefore === 0 && rows.rowsIn === h && cols.rowsIn === w) return dy;
  return s.crop(dy, rows.cropBefore, cols.cropBefore, rows.rowsIn, cols.rowsIn);
}

function phasePads(rows: PhaseAxis, cols: PhaseAxis): Pad4 {
  return [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]];
}

/** The final crop from the interleaved phases to dx; a fresh tensor even when nothing is cut off. */
function cropToInput(s: Scratch, full: TensorInfo, rows: PhaseAxis, cols: PhaseAxis, h: number, w: number) {
  if (rows.offset === 0 && cols.offset === 0 && full.shape[1] === h && full.shape[2] === w) return full;
  return s.crop(full, rows.offset, cols.offset, h, w);
}

function conv2DBackpropInput(stock: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const name = 'Conv2DBackpropInput';
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    // The stock kernel handles NCHW (slowly); this project never uses it.
    if (dataFormat === 'NCHW' && stock != null) return stock(args);
    requireNhwc(dataFormat, name);
    const backend = wasmBackend(args);
    const dy = input(args, 'dy', name);
    const filter = input(args, 'filter', name);
    requireFloat32(dy, name);
    requireFloat32(filter, name);
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { inHeight, inWidth, inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
    const { strideHeight: sh, strideWidth: sw } = info;
    const rows = phaseAxis(kh, sh, 1, info.padInfo.top, inHeight, dy.shape[1]);
    const cols = phaseAxis(kw, sw, 1, info.padInfo.left, inWidth, dy.shape[2]);

    return withScratch(backend, (s) => {
      if (rows.rowsIn <= 0 || cols.rowsIn <= 0) return s.fill(inputShape, 0); // dy never reaches dx
      const phases = sh * sw;
      const g = phaseFilter(s, filter, kh, kw, sh, sw, rows.taps, cols.taps, ci, co, false);
      const y = s.conv2d(phaseInput(s, dy, rows, cols), g, phasePads(rows, cols), [1, 1], [1, 1]);
      let full = y;
      if (phases > 1) {
        // Depth-to-space as a transpose: the wasm DepthToSpace kernel is ~8x slower.
        const [n, r, c] = y.shape;
        const t = s.transpose(s.reshape(y, [n, r, c, sh, sw, ci]), [0, 1, 3, 2, 4, 5]);
        full = s.reshape(t, [n, r * sh, c * sw, ci]);
      }
      return cropToInput(s, full, rows, cols, inHeight, inWidth);
    });
  };
}

/**
 * Builds the stacked sub-filters of the phase convolution from a [KH,KW,Ci,M] filter, in JS (weights are small).
 * Regular conv (`depthwise` false, filter [KH,KW,Ci,Co]): result [Jh,Jw,Co,(rh*sw+rw)*Ci+ci], so that depth-to-space
 * interleaves the phases. Depthwise (multiplier 1, filter [KH,KW,C,1]): result [Jh,Jw,C,s*s] with channel
 * c*(sh*sw)+rh*sw+rw, the depthwise multiplier layout. Tap j of the sub-filter is original tap r + s*(J-1-j): the
 * correlation runs backwards over the filter.
 */
function phaseFilter(
  s: Scratch, filter: TensorInfo, kh: number, kw: number, sh: number, sw: number, jh: number, jw: number,
  ci: number, co: number, depthwise: boolean,
): TensorInfo {
  const phases = sh * sw;
  const shape = depthwise ? [jh, jw, ci, phases] : [jh, jw, co, phases * ci];
  const out = s.output(shape, 'float32');
  const dst = s.backend.typedArrayFromHeap(out);
  dst.fill(0);
  const src = s.backend.typedArrayFromHeap(filter);
  let i = 0;
  for (let y = 0; y < kh; y++) {
    const ty = jh - 1 - Math.floor(y / sh);
    const ry = y % sh;
    for (let x = 0; x < kw; x++) {
      const tx = jw - 1 - Math.floor(x / sw);
      const phase = ry * sw + (x % sw);
      const tap = ty * jw + tx;
      if (depthwise) {
        for (let c = 0; c < ci; c++) dst[(tap * ci + c) * phases + phase] = src[i++];
      } else {
        for (let c = 0; c < ci; c++) {
          for (let o = 0; o < co; o++) dst[(tap * co + o) * phases * ci + phase * ci + c] = src[i++];
        }
      }
    }
  }
  return out;
}

/**
 * Depthwise filter gradient: dF[i,j,c,m] = Σ over n, output pixels of x[n, oh·sh + i·dh − top, ow·sw + j·dw − left, c]
 * · dy[n, oh, ow, c·M + m], a SIMD loop over the heap (simd/kernels.ts) that reads each dy pixel once and keeps the
 * accumulators in cache. No stock kernel fits: as one depthwise conv over [1,H,W,N·C] with dy as an Ho×Wo filter (the
 * form the design notes found), XNNPACK's large-kernel path took 580 ms of a 2.3 s training step of the ~11 M-MAC
 * model, 15× its forward pass; a plain JS loop took 393 ms.
 */
function depthwiseBackpropFilter(args: KernelArgs): TensorInfo {
  const name = 'DepthwiseConv2dNativeBackpropFilter';
  const backend = wasmBackend(args);
  const x = input(args, 'x', name);
  const dy = input(args, 'dy', name);
  const { strides, pad, dilations, dimRoundingMode, filterShape } =
    args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  requireFloat32(x, name);
  requireFloat32(dy, name);
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'channelsLast');
  const { batchSize: n, inHeight, inWidth, inChannels: c, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight, outWidth } = info;
  const m = filterShape[3];
  const out = backend.makeOutput([kh, kw, c, m], 'float32');
  const at = (t: TensorInfo) => heapOffset(backend, t);
  withHeapScratch(backend, 3 * kh * kw * c * m, (scratch) => simdKernels(backend).depthwiseFilterGrad(at(x), at(dy),
    at(out), scratch, n, inHeight, inWidth, c, m, outHeight, outWidth, kh, kw, sh, sw, dh, dw, info.padInfo.top,
    info.padInfo.left));
  return out;
}

/** Depthwise input gradient: the phase (sub-pixel) form of the transposed conv, with a channel multiplier of s*s. */
function depthwiseBackpropInput(args: KernelArgs): TensorInfo {
  const name = 'DepthwiseConv2dNativeBackpropInput';
  const backend = wasmBackend(args);
  const dy = input(args, 'dy', name);
  const filter = input(args, 'filter', name);
  const { strides, pad, dilations, dimRoundingMode, inputShape } =
    args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  requireFloat32(dy, name);
  requireFloat32(filter, name);
  const m = filter.shape[3];
  if (m !== 1) throw new Error(`${name} (wasm): unsupported channel multiplier ${m}`);
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as Shape4, strides, dilations ?? 1, pad, dimRoundingMode, true, 'channelsLast');
  const { inHeight, inWidth, inChannels: c, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  if ((sh > 1 && dh > 1) || (sw > 1 && dw > 1)) {
    throw new Error(`${name} (wasm): unsupported strides ${sh},${sw} with dilations ${dh},${dw}`);
  }
  const rows = phaseAxis(kh, sh, dh, info.padInfo.top, inHeight, dy.shape[1]);
  const cols = phaseAxis(kw, sw, dw, info.padInfo.left, inWidth, dy.shape[2]);

  return withScratch(backend, (s) => {
    if (rows.rowsIn <= 0 || cols.rowsIn <= 0) return s.fill(inputShape, 0);
    const g = phaseFilter(s, filter, kh, kw, sh, sw, rows.taps, cols.taps, c, 1, true);
    const y = s.depthwise(phaseInput(s, dy, rows, cols), g, phasePads(rows, cols), [1, 1], [dh, dw]);
    let full = y;
    if (sh * sw > 1) {
      const [n, r, cc] = y.shape;
      const t = s.transpose(s.reshape(y, [n, r, cc, c, sh, sw]), [0, 1, 4, 2, 5, 3]);
      full = s.reshape(t, [n, r * sh, cc * sw, c]);
    }
    return cropToInput(s, full, rows, cols, inHeight, inWidth);
  });
}

/**
 * Scatter-add of rows in JS: O(size of x) whatever numSegments is (a one-hot GEMM costs numSegments times more), and
 * exact for int32.
 */
function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const name = 'UnsortedSegmentSum';
  const backend = wasmBackend(args);
  const x = input(args, 'x', name);
  const ids = input(args, 'segmentIds', name);
  const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`${name} (wasm): unsupported dtype '${x.dtype}'`);
  if (ids.dtype !== 'int32') throw new Error(`${name} (wasm): unsupported segmentIds dtype '${ids.dtype}'`);
  const idsRank = ids.shape.length;
  if (ids.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${name} (wasm): unsupported segmentIds shape [${ids.shape}] for x shape [${x.shape}]`);
  }
  const rest = x.shape.slice(idsRank);
  const rowSize = util.sizeFromShape(rest);
  const count = util.sizeFromShape(ids.shape);
  const out = backend.makeOutput([numSegments, ...rest], x.dtype);
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0);
  const src = backend.typedArrayFromHeap(x);
  const seg = backend.typedArrayFromHeap(ids);
  for (let i = 0; i < count; i++) {
    const id = seg[i];
    if (id < 0 || id >= numSegments) continue; // TF drops out-of-range ids
    const to = id * rowSize;
    const from = i * rowSize;
    for (let j = 0; j < rowSize; j++) dst[to + j] += src[from + j];
  }
  return out;
}

/**
 * The wasm GEMM reaches XNNPACK only without transpose flags (and batch 1); with a flag it runs a scalar loop ~15x
 * slower than an explicit Transpose followed by the plain GEMM. When that plain GEMM is the cached XNNPACK one, its
 * right operand must be a private buffer: a transposed b already is, an untransposed b is copied.
 */
function batchMatMul(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return stock(args);
    const a = input(args, 'a', 'BatchMatMul');
    const b = input(args, 'b', 'BatchMatMul');
    return withScratch(wasmBackend(args), (s) => {
      const swapLast = (t: TensorInfo) => {
        const perm = t.shape.map((_, i) => i);
        const r = perm.length;
        [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
        return s.transpose(t, perm);
      };
      const batch = (t: TensorInfo) => util.sizeFromShape(t.shape.slice(0, -2));
      const cachedGemm = batch(a) === 1 && batch(b) === 1;
      const out = stock({
        inputs: {
          a: transposeA ? swapLast(a) : a,
          b: transposeB ? swapLast(b) : cachedGemm ? s.copy(b) : b,
        },
        backend: args.backend,
        attrs: { transposeA: false, transposeB: false },
      });
      if (Array.isArray(out)) throw new Error('BatchMatMul (wasm): stock kernel returned several outputs');
      return s.track(out);
    });
  };
}

/**
 * Sum/Mean over a contiguous block of axes that does not include the last one (e.g. [0,1,2] of NHWC for batch norm,
 * [1,2] for global pooling) as batched GEMMs with a ones (or 1/M) row: x viewed as [P,M,C] reduces to [P,1,C]. The
 * stock kernels transpose the reduced axes innermost first (~2x slower). With P = 1 the product would take the
 * XNNPACK path, which packs its right operand (the whole activation) like weights - slower than stock, and unsafe for
 * a caller's buffer (see the top of this file) - so a leading-axes reduction is split in two batched stages,
 * [B, M/B, C] -> [B, 1, C] -> [1, 1, C], where the second, tiny product gets a private buffer. Every other case
 * (other dtypes, reductions including the last axis, non-contiguous axes, nothing to split) stays stock.
 */
function reduceAsMatMul(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const x = input(args, 'x', mean ? 'Mean' : 'Sum');
    const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank === 0 || util.sizeFromShape(x.shape) === 0) return stock(args);
    const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return stock(args);
    const first = axes[0];
    const last = axes[axes.length - 1];
    if (last === rank - 1 || last - first + 1 !== axes.length) return stock(args);
    const p = util.sizeFromShape(x.shape.slice(0, first));
    const m = util.sizeFromShape(x.shape.slice(first, last + 1));
    const c = util.sizeFromShape(x.shape.slice(last + 1));
    // For P = 1: the leading reduced dims up to the first non-trivial one become the batch of the first stage.
    let b = 1;
    for (let i = first; i <= last && b === 1; i++) b *= x.shape[i];
    if (p === 1 && (b === 1 || b === m)) return stock(args);
    const outShape = keepDims
      ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
      : x.shape.filter((_, i) => i < first || i > last);
    const scale = mean ? 1 / m : 1;
    return withScratch(wasmBackend(args), (s) => {
      if (p > 1) return s.reshape(s.matMul(s.fill([1, 1, m], scale), s.reshape(x, [p, m, c])), outShape);
      const partial = s.matMul(s.fill([1, 1, m / b], scale), s.reshape(x, [b, m / b, c])); // [B, 1, C], fresh
      return s.reshape(s.matMul(s.fill([1, 1, b], 1), s.reshape(partial, [1, b, c])), outShape);
    });
  };
}

/**
 * Marks the kernel functions registered here with the config they replaced (null where wasm had none). A
 * process-wide symbol, so that a second copy of this module (another bundle) still recognises them and never wraps a
 * wrapper.
 */
/**
 * Identity that shares its input's buffer (one more reference, as the wasm Reshape does) instead of copying it. The
 * engine clones every tensor a gradient keeps (`saveTensorsForBackwardMode`), and the stock kernel copies each with
 * `TypedArray.set` on the shared heap, element by element: at 224×224×3 that copying took most of a MobileNetV2's
 * gradient time and doubled its memory. Tensors are immutable and no kernel here writes into its inputs, so a shared
 * buffer is safe; the one place that needs a private buffer (the GEMM's cached operand) copies with the stock kernel.
 */
function sharedIdentity(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = input(args, 'x', 'Identity');
    if (x.dtype === 'string') return stock(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * Slice of a 4-D float32 NHWC tensor that keeps the whole batch and every channel (a spatial window: the gradient of
 * Pad, ZeroPadding2D and explicit ONNX pads) as one copy per image row. The stock wasm Slice copies the whole input out
 * of the heap and walks it element by element in JS: ~0.9 s of a 224×224×3 MobileNetV2's gradient counterfactual.
 * Anything else goes to the stock kernel.
 */
function windowSlice(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = input(args, 'x', 'Slice');
    const { begin, size } = args.attrs as unknown as { begin: number[]; size: number[] };
    if (x.shape.length !== 4 || x.dtype !== 'float32') return stock(args);
    const [b, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    if (b[0] !== 0 || sz[0] !== x.shape[0] || b[3] !== 0 || sz[3] !== x.shape[3]) return stock(args);
    return withScratch(wasmBackend(args), (s) => s.crop(x, b[1], b[2], sz[1], sz[2]));
  };
}

const REPLACED = Symbol.for('xai-lens.wasmTrainingKernels.replaced');
type OurKernelFunc = KernelFunc & { [REPLACED]?: KernelConfig | null };

/** The config one of our kernels replaced; undefined when `f` is not ours. */
function replacedBy(f: KernelFunc): KernelConfig | null | undefined {
  return (f as OurKernelFunc)[REPLACED];
}

function makeKernel(name: string, stock: KernelFunc | undefined): KernelFunc {
  const needStock = (): KernelFunc => {
    if (stock == null) throw new Error(`registerWasmTrainingKernels: no stock wasm '${name}' kernel to wrap`);
    return stock;
  };
  switch (name) {
    case 'Conv2DBackpropFilter':
      return conv2DBackpropFilter;
    case 'Conv2DBackpropInput':
      return conv2DBackpropInput(stock);
    case 'DepthwiseConv2dNativeBackpropFilter':
      return depthwiseBackpropFilter;
    case 'DepthwiseConv2dNativeBackpropInput':
      return depthwiseBackpropInput;
    case 'UnsortedSegmentSum':
      return unsortedSegmentSum;
    case 'BatchMatMul':
      return batchMatMul(needStock());
    case 'Sum':
      return reduceAsMatMul(needStock(), false);
    case 'Mean':
      return reduceAsMatMul(needStock(), true);
    case 'FusedBatchNorm':
      return fusedBatchNorm(needStock());
    case 'MaxPoolGrad':
      return maxPoolGrad(needStock());
    case 'AvgPoolGrad':
      return avgPoolGrad(needStock());
    case 'Identity':
      return sharedIdentity(needStock());
    case 'Slice':
      return windowSlice(needStock());
    default:
      throw new Error(`registerWasmTrainingKernels: unknown kernel '${name}'`);
  }
}

/**
 * Registers the kernels of WASM_TRAINING_KERNELS on the wasm backend, replacing stock ones. Idempotent: a kernel that
 * is already ours is left alone, so a wrapper never wraps a wrapper. The stock kernel's setupFunc is carried over,
 * because the engine runs setup functions only for registered kernels and the wrappers call the stock kernels.
 * `@tensorflow/tfjs-backend-wasm` must have been imported (it registers the stock kernels).
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel('Conv2D', 'wasm') == null) {
    throw new Error('registerWasmTrainingKernels: the wasm backend is not loaded (import @tensorflow/tfjs-backend-wasm)');
  }
  for (const name of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (current != null && replacedBy(current.kernelFunc) !== undefined) continue;
    if (current != null) tf.unregisterKernel(name, 'wasm');
    const impl = makeKernel(name, current?.kernelFunc);
    const kernelFunc: OurKernelFunc = (args) => impl(args);
    kernelFunc[REPLACED] = current ?? null;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc,
      setupFunc: current?.setupFunc,
      disposeFunc: current?.disposeFunc,
    });
  }
}

/** Puts the stock wasm kernels back (and drops the ones wasm lacks); for A/B measurements. */
export function restoreStockWasmKernels(): void {
  for (const name of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    const stock = current == null ? undefined : replacedBy(current.kernelFunc);
    if (stock === undefined) continue;
    tf.unregisterKernel(name, 'wasm');
    if (stock != null) tf.registerKernel(stock);
  }
}
