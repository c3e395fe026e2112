/**
 * The native TensorFlow backends: the packages the engine tries (src/engine/backend/backends.ts) and the command
 * *XAI Lens: Install Native Backend* offers (src/extension/nativeInstall.ts), and the environment variable through
 * which the extension host tells the processes it forks (engine process, CLI runs) where it installed one.
 */

export const NATIVE_PACKAGES = [
  { name: '@tensorflow/tfjs-node', label: 'CPU', detail: 'TensorFlow on the CPU (Linux, macOS, Windows)' },
  { name: '@tensorflow/tfjs-node-gpu', label: 'CUDA', detail: 'TensorFlow on an NVIDIA GPU (Linux with CUDA)' },
] as const;

export type NativePackageName = (typeof NATIVE_PACKAGES)[number]['name'];

/** A `node_modules` folder the engine looks in for a native package that a plain `require` does not find. */
export const NATIVE_MODULES_ENV = 'XAI_LENS_NATIVE_MODULES';

export function isNativePackageName(value: unknown): value is NativePackageName {
  return NATIVE_PACKAGES.some((p) => p.name === value);
}
