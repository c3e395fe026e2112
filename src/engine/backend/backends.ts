/**
 * TensorFlow.js backend selection. Preference: CUDA TensorFlow (tfjs-node-gpu, when installed and a GPU is visible)
 * → CPU TensorFlow (tfjs-node, when installed) → wasm (XNNPACK SIMD, plus this project's training kernels) → cpu.
 * The native packages are optional dependencies: their install script downloads libtensorflow, which fails on
 * machines without that route, and npm then drops them.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { XaiLensError } from '../errors';
import { registerWasmTrainingKernels } from './wasmKernels';
import { registerSimdKernels } from './simdKernels';
import { registerFastGradients } from './fastGradients';
import { installFastLayers } from './fastLayers';

import { BACKEND_CHOICES, type BackendChoice } from '../../shared/protocol';

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

/** Loads a native binding if it is installed; returns why not otherwise. */
function tryRequire(pkg: string): string | undefined {
  try {
    // Optional native packages: resolved at run time because they are absent wherever their install failed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

async function useTensorflow(pkg: string): Promise<boolean> {
  if (tryRequire(pkg) !== undefined) return false;
  return tf.setBackend('tensorflow');
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
    if (await useTensorflow('@tensorflow/tfjs-node-gpu')) {
      name = 'tensorflow';
      description = 'tensorflow (CUDA, @tensorflow/tfjs-node-gpu)';
    } else if (choice === 'tensorflow-gpu') {
      throw new XaiLensError(
        'backend "tensorflow-gpu" is not available: @tensorflow/tfjs-node-gpu is not installed or cannot load ' +
          '(run "npm install @tensorflow/tfjs-node-gpu" on a machine with CUDA)',
      );
    } else notes.push('tfjs-node-gpu not installed');
  }
  if (!name && (choice === 'tensorflow' || choice === 'auto')) {
    if (await useTensorflow('@tensorflow/tfjs-node')) {
      name = 'tensorflow';
      description = 'tensorflow (CPU, @tensorflow/tfjs-node)';
    } else if (choice === 'tensorflow') {
      throw new XaiLensError(
        'backend "tensorflow" is not available: @tensorflow/tfjs-node is not installed or cannot load ' +
          '(its install script downloads libtensorflow; run "npm install @tensorflow/tfjs-node" where that works)',
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
