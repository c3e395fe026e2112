/**
 * ONNX Runtime (onnxruntime-node, CPU execution provider) as a synchronous forward pass.
 *
 * The package's public `InferenceSession.run` is a Promise around a native call that is itself synchronous. The
 * explainers call the model synchronously (between TF.js ops), so this module drives the native binding directly:
 * same call, same threads, no Promise. The binding is required at run time: it is absent where the package's native
 * binary is not shipped (another platform, the universal wasm-only package), and then everything runs on TF.js.
 *
 * `XAI_LENS_NATIVE=off` disables it (the fallback path, and A/B measurements).
 */
import { availableParallelism } from 'node:os';

interface OrtTensorCtor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): { data: unknown; dims: readonly number[] };
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, offset: number, length: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, { data: Float32Array; dims: readonly number[] } | { type: string; data: Float32Array; dims: number[] }>;
  dispose(): void;
}

interface Binding {
  InferenceSession: new () => NativeSession;
}

interface Ort {
  binding: Binding;
  Tensor: OrtTensorCtor;
}

let loaded: Ort | string | undefined;

/** The binding, or the one-line reason it is not available. */
export function loadOrt(): Ort | string {
  const env = (process.env.XAI_LENS_NATIVE ?? '').toLowerCase();
  if (env === 'off' || env === '0' || env === 'false') return 'ONNX Runtime disabled (XAI_LENS_NATIVE=off)';
  if (loaded !== undefined) return loaded;
  try {
    // Resolved at run time: a native binary that only some packages ship.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const b = require('onnxruntime-node/dist/binding') as { binding: Binding; initOrt(): void };
    const common = require('onnxruntime-common') as { Tensor: OrtTensorCtor };
    /* eslint-enable @typescript-eslint/no-require-imports */
    b.initOrt();
    return (loaded = { binding: b.binding, Tensor: common.Tensor });
  } catch (e) {
    return (loaded = `ONNX Runtime is not available here: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
}

/** Threads ONNX Runtime uses inside one operator: every core. */
export function ortThreads(): number {
  return Math.max(1, availableParallelism());
}

export interface OrtSession {
  /** Runs `input` ([n, ...dims]) and returns the output's values and dims. */
  run(input: Float32Array, dims: readonly number[]): { data: Float32Array; dims: number[] };
  dispose(): void;
  threads: number;
}

export function createOrtSession(ort: Ort, model: Uint8Array, inputName: string, outputName: string, threads = ortThreads()): OrtSession {
  const session = new ort.binding.InferenceSession();
  session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
    executionProviders: [{ name: 'cpu' }],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  return {
    threads,
    run(input, dims) {
      const out = session.run({ [inputName]: new ort.Tensor('float32', input, dims) }, { [outputName]: null }, {})[outputName];
      return { data: out.data, dims: [...out.dims] };
    },
    dispose: () => session.dispose(),
  };
}
