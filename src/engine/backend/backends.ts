/**
 * TensorFlow.js backend selection. Preference: CUDA TensorFlow (tfjs-node-gpu, when installed and a GPU is visible)
 * → CPU TensorFlow (tfjs-node, when installed) → wasm (XNNPACK SIMD, plus this project's training kernels) → cpu.
 * The native packages are optional dependencies: their install script downloads libtensorflow, which fails on
 * machines without that route, and npm then drops them.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { XaiLensError } from '../errors';
import { registerWasmTrainingKernels } from './wasmKernels';
import { registerSimdKernels } from './simdKernels';
import { registerFastGradients } from './fastGradients';
import { installFastLayers } from './fastLayers';

import { BACKEND_CHOICES, type BackendChoice } from '../../shared/protocol';
import { NATIVE_MODULES_ENV, type NativePackageName } from '../../shared/nativeBackend';

// V8 runs new wasm code in its baseline tier (Liftoff) and moves hot functions to the optimising tier (TurboFan) once
// they have spent a budget; TF.js's kernels run long, so at the default budget a process's first heavy method runs
// mostly on baseline code: SmoothGrad at 224×224×3 took 19.1 s first and 10.3 s after, 12.0 s first with this budget.
// It has to be set before the backend's module is compiled; worker threads share the process's flags.
setFlagsFromString('--wasm-tiering-budget=20000');

export { BACKEND_CHOICES, type BackendChoice };

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** The TensorFlow.js backend name now active ('tensorflow', 'wasm', 'cpu'). */
  name: string;
  /** A human description, e.g. "wasm (XNNPACK SIMD, 1 thread, XAI Lens training kernels)". */
  description: string;
  /** Set when the user should know something (slow backend, fallback). */
  warning?: string;
}

let active: BackendInfo | undefined;

export function parseBackendChoice(value: string | undefined): BackendChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new XaiLensError(`unknown backend "${value}"; expected one of ${BACKEND_CHOICES.join(', ')}`);
}

function gpuVisible(): boolean {
  if (process.env.CUDA_VISIBLE_DEVICES === '' || process.env.CUDA_VISIBLE_DEVICES === '-1') return false;
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

/** Is `e` "cannot find `spec`" itself (not a file the package needs, such as its native binding)? */
function notFound(e: unknown, spec: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND' && firstLine(e).includes(`'${spec}'`);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Loads a native binding if it is installed; returns why not otherwise (one line). Looks where Node resolves `pkg`,
 * then in the `node_modules` folder named by XAI_LENS_NATIVE_MODULES (where *XAI Lens: Install Native Backend* puts
 * it). Of two failures it reports the one from a copy that exists but cannot load (a missing libtensorflow, say).
 */
export function tryRequire(pkg: string, nativeModules = process.env[NATIVE_MODULES_ENV]): string | undefined {
  const candidates = nativeModules ? [pkg, join(nativeModules, pkg)] : [pkg];
  const failures: { spec: string; error: unknown }[] = [];
  for (const spec of candidates) {
    try {
      // Optional native packages: resolved at run time because they are absent wherever their install failed.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(spec);
      return undefined;
    } catch (e) {
      failures.push({ spec, error: e });
    }
  }
  const reported = failures.find((f) => !notFound(f.error, f.spec)) ?? failures[0];
  return firstLine(reported.error);
}

/** Switches to the package's 'tensorflow' backend; returns why not otherwise. */
async function useTensorflow(pkg: NativePackageName): Promise<string | undefined> {
  const missing = tryRequire(pkg);
  if (missing !== undefined) return missing;
  return (await tf.setBackend('tensorflow')) ? undefined : `${pkg} loaded but its "tensorflow" backend did not initialise`;
}

async function useWasm(): Promise<boolean> {
  // Imported lazily so that machines with a native backend never pay for the wasm module.
  await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend('wasm');
  if (ok) {
    await tf.ready();
    registerWasmTrainingKernels();
    registerSimdKernels();
  }
  return ok;
}

const CPU_WARNING =
  'WARNING: using the pure-JavaScript "cpu" backend. It is about 1000x slower than PyTorch for training on this ' +
  'kind of machine; use --backend wasm (default) or install @tensorflow/tfjs-node(-gpu).';

/** Selects and initialises a backend. Idempotent for the same choice. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (active && active.requested === choice) return active;
  registerFastGradients();
  installFastLayers();
  const notes: string[] = [];
  let name: string | undefined;
  let description = '';

  if (choice === 'tensorflow-gpu' || (choice === 'auto' && gpuVisible())) {
    const gpuReason = await useTensorflow('@tensorflow/tfjs-node-gpu');
    if (gpuReason === undefined) {
      name = 'tensorflow';
      description = 'tensorflow (CUDA, @tensorflow/tfjs-node-gpu)';
    } else if (choice === 'tensorflow-gpu') {
      throw new XaiLensError(
        'backend "tensorflow-gpu" is not available: @tensorflow/tfjs-node-gpu is not installed or cannot load ' +
          '(on a machine with CUDA: "XAI Lens: Install Native Backend" in VS Code, or "npm install @tensorflow/tfjs-node-gpu"). ' +
          `Reason: ${gpuReason}`,
      );
    } else notes.push('tfjs-node-gpu not installed');
  }
  if (!name && (choice === 'tensorflow' || choice === 'auto')) {
    const cpuReason = await useTensorflow('@tensorflow/tfjs-node');
    if (cpuReason === undefined) {
      name = 'tensorflow';
      description = 'tensorflow (CPU, @tensorflow/tfjs-node)';
    } else if (choice === 'tensorflow') {
      throw new XaiLensError(
        'backend "tensorflow" is not available: @tensorflow/tfjs-node is not installed or cannot load ' +
          '(its install script downloads libtensorflow; where that works: "XAI Lens: Install Native Backend" in VS Code, or ' +
          `"npm install @tensorflow/tfjs-node"). Reason: ${cpuReason}`,
      );
    }
  }
  if (!name && (choice === 'wasm' || choice === 'auto')) {
    if (await useWasm()) {
      name = 'wasm';
      description = 'wasm (XNNPACK SIMD, 1 thread, XAI Lens training kernels)';
    } else if (choice === 'wasm') {
      throw new XaiLensError('backend "wasm" failed to initialise');
    }
  }
  let warning: string | undefined;
  if (!name) {
    if (!(await tf.setBackend('cpu'))) throw new XaiLensError('no TensorFlow.js backend could be initialised');
    name = 'cpu';
    description = 'cpu (pure JavaScript)';
    warning = CPU_WARNING;
  }
  await tf.ready();
  active = { requested: choice, name, description, warning };
  return active;
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}
