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
import { existsSync } from 'node:fs';
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
    const common = require('onnxruntime-common') as { Tensor: OrtTensorCtor; env: { logLevel?: string } };
    /* eslint-enable @typescript-eslint/no-require-imports */
    // Failures come back as exceptions, which the callers report in one line; ONNX Runtime's own log would print
    // them again on stderr (e.g. each GPU provider that cannot load here).
    common.env.logLevel = 'fatal';
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
  /** The execution provider that took the session ('cpu', 'cuda', 'dml'). */
  provider: string;
  /** Providers tried before it that could not load here, with why (one line each). */
  unavailable: string[];
}

/**
 * Execution providers to try, best first, the CPU one always last: DirectML on Windows (the win32 package ships its
 * DLL), CUDA where an NVIDIA device is visible (its provider libraries come with a CUDA install of ONNX Runtime, not
 * with the npm package's default download). `XAI_LENS_ORT_PROVIDERS` (e.g. "cpu" or "cuda,cpu") overrides.
 */
export function preferredProviders(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  nvidia = existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0'),
): string[] {
  const given = (env.XAI_LENS_ORT_PROVIDERS ?? '').split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  const wanted = given.length ? given : [...(platform === 'win32' ? ['dml'] : []), ...(nvidia ? ['cuda'] : [])];
  return [...new Set(wanted.filter((p) => p !== 'cpu')), 'cpu'];
}

export function createOrtSession(
  ort: Ort, model: Uint8Array, inputName: string, outputName: string, threads = ortThreads(), providers = preferredProviders(),
): OrtSession {
  const unavailable: string[] = [];
  for (const provider of providers) {
    const session = new ort.binding.InferenceSession();
    try {
      // A GPU provider keeps the CPU one behind it for the operators it does not have.
      session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
        executionProviders: provider === 'cpu' ? [{ name: 'cpu' }] : [{ name: provider }, { name: 'cpu' }],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
    } catch (e) {
      if (provider === 'cpu') throw e;
      unavailable.push(`${provider}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
      continue;
    }
    return openSession(ort, session, inputName, outputName, threads, provider, unavailable);
  }
  throw new Error('no ONNX Runtime execution provider to try');
}

function openSession(ort: Ort, session: NativeSession, inputName: string, outputName: string, threads: number, provider: string, unavailable: string[]): OrtSession {
  return {
    threads,
    provider,
    unavailable,
    run(input, dims) {
      const out = session.run({ [inputName]: new ort.Tensor('float32', input, dims) }, { [outputName]: null }, {})[outputName];
      return { data: out.data, dims: [...out.dims] };
    },
    dispose: () => session.dispose(),
  };
}
