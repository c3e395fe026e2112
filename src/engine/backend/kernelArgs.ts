/** Argument checks shared by this project's wasm kernels (wasmKernels.ts, simdKernels.ts); errors name the kernel. */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

export type KernelArgs = Parameters<KernelFunc>[0];

export function input(args: KernelArgs, name: string, kernel: string): TensorInfo {
  const t = args.inputs[name];
  if (t == null) throw new Error(`${kernel} (wasm): missing input '${name}'`);
  return t;
}

export function requireFloat32(t: TensorInfo, kernel: string): void {
  if (t.dtype !== 'float32') throw new Error(`${kernel} (wasm): unsupported dtype '${t.dtype}'`);
}
