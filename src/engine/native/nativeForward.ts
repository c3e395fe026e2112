/**
 * Forward passes of a TF.js layers model on ONNX Runtime's native CPU provider, where it loads.
 *
 * The model is exported by `onnxExport.ts`, cached by the hash of its topology and weights (in memory, and on disk
 * under the cache folder so a restarted engine skips the export), and checked once at load on a probe batch: the
 * probabilities must match TF.js within 1e-4, else TF.js keeps the job and `note` says why in one line. Gradients
 * never come here.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomicFs';
import { ONNX_INPUT, ONNX_OUTPUT, exportOnnx } from './onnxExport';
import { createOrtSession, loadOrt, type OrtSession } from './ort';

/** Largest |probability difference| the probe batch may show between ONNX Runtime and TF.js. */
export const PROBE_TOLERANCE = 1e-4;

export interface NativeForward {
  /** 'onnxruntime-cpu' (or -cuda, -dml where that execution provider loads). */
  name: string;
  threads: number;
  /** Probabilities of n images stored back to back (NHWC): n × classes. */
  run(images: Float32Array, n: number): Float32Array;
  dispose(): void;
}

export interface NativeStatus {
  forward?: NativeForward;
  /** Why forward passes stay on TF.js, or which GPU execution providers could not load, in one line. */
  note?: string;
  /** Largest probability difference on the probe batch. */
  probeError?: number;
  /** Milliseconds spent exporting (0 from the cache) and checking. */
  exportMs?: number;
  cached?: boolean;
}

/** Where exported models are kept: `XAI_LENS_CACHE_DIR`, else ~/.cache/xai-lens. */
export function cacheDir(): string {
  return process.env.XAI_LENS_CACHE_DIR ?? join(homedir(), '.cache', 'xai-lens');
}

/** SHA-256 of the model's topology and every weight's bytes. */
export function weightsHash(model: tf.LayersModel): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(model.toJSON(null, false)));
  for (const w of model.getWeights()) {
    const d = w.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}

const memoryCache = new Map<string, Uint8Array>();

async function exported(model: tf.LayersModel): Promise<{ bytes: Uint8Array; cached: boolean }> {
  const key = weightsHash(model);
  const inMemory = memoryCache.get(key);
  if (inMemory) return { bytes: inMemory, cached: true };
  const file = join(cacheDir(), 'onnx', `${key}.onnx`);
  try {
    const bytes = new Uint8Array(await readFile(file));
    memoryCache.set(key, bytes);
    return { bytes, cached: true };
  } catch {
    // Not cached yet.
  }
  const bytes = exportOnnx(model);
  memoryCache.set(key, bytes);
  try {
    await mkdir(join(cacheDir(), 'onnx'), { recursive: true });
    await writeFileAtomic(file, bytes);
  } catch {
    // A read-only home only costs the export next time.
  }
  return { bytes, cached: false };
}

/** A seeded probe batch in [0, 1]. */
function probeBatch(shape: number[], n: number): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * per);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / 16777216;
  }
  return out;
}

/** ONNX Runtime for `model`'s forward passes, or the reason TF.js keeps them. */
export async function prepareNativeForward(model: tf.LayersModel): Promise<NativeStatus> {
  const ort = loadOrt();
  if (typeof ort === 'string') return { note: ort };
  const t0 = performance.now();
  const shape = model.inputs[0].shape.slice(1) as number[];
  let session: OrtSession | undefined;
  try {
    const { bytes, cached } = await exported(model);
    session = createOrtSession(ort, bytes, ONNX_INPUT, ONNX_OUTPUT);
    const n = 2;
    const x = probeBatch(shape, n);
    const ref = tf.tidy(() => model.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor);
    const want = ref.dataSync();
    ref.dispose();
    const got = session.run(x, [n, ...shape]).data;
    let err = got.length === want.length ? 0 : Infinity;
    for (let i = 0; i < want.length && err < Infinity; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    if (!(err <= PROBE_TOLERANCE)) {
      session.dispose();
      return { note: `ONNX Runtime disagrees with TF.js on the probe batch (max difference ${err.toExponential(2)} > ${PROBE_TOLERANCE}); forward passes stay on TF.js`, probeError: err };
    }
    const s = session;
    return {
      ...(s.unavailable.length ? { note: `ONNX Runtime runs on ${s.provider}; not available here: ${s.unavailable.join('; ')}` } : {}),
      forward: {
        name: `onnxruntime-${s.provider}`,
        threads: s.threads,
        run: (images, count) => s.run(images, [count, ...shape]).data,
        dispose: () => s.dispose(),
      },
      probeError: err,
      exportMs: performance.now() - t0,
      cached,
    };
  } catch (e) {
    session?.dispose();
    return { note: `${(e instanceof Error ? e.message : String(e)).split('\n')[0]}; forward passes stay on TF.js` };
  }
}

/** Probabilities of the first n images of `per` values each in `images` (read in place), `batch` per native call. */
export function runInBatches(native: NativeForward, images: Float32Array, n: number, per: number, batch: number): Float32Array {
  let out = new Float32Array(0);
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const p = native.run(images.subarray(s * per, (s + m) * per), m);
    if (out.length === 0) out = new Float32Array((n * p.length) / m);
    out.set(p, (s * p.length) / m);
  }
  return out;
}

type ImageBatch = { images: Float32Array; count: number; shape: [number, number, number] };

/** A forward pass opened once for many batches: ONNX Runtime where it loads and agrees with TF.js, else `fallback`. */
export interface BestForward {
  backend: string;
  /** Why not native, when not. */
  note?: string;
  run(src: ImageBatch): Promise<Float32Array>;
  dispose(): void;
}

export async function openBestForward(model: tf.LayersModel, fallback: (src: ImageBatch) => Promise<Float32Array>, batchSize = 256): Promise<BestForward> {
  const status = await prepareNativeForward(model);
  const native = status.forward;
  if (!native) return { backend: tf.getBackend(), note: status.note, run: fallback, dispose: () => undefined };
  return {
    backend: native.name,
    run: async (src) => runInBatches(native, src.images, src.count, src.shape[0] * src.shape[1] * src.shape[2], batchSize),
    dispose: () => native.dispose(),
  };
}

/** Probabilities of every image of `src`, on ONNX Runtime where it loads and agrees with TF.js, else on TF.js
 * (`fallback`, e.g. the two-thread wasm path). Says which ran it and why not native. */
export async function predictWithBestBackend(
  model: tf.LayersModel,
  src: ImageBatch,
  fallback: () => Promise<Float32Array>,
  batchSize = 256,
): Promise<{ probabilities: Float32Array; backend: string; note?: string }> {
  const best = await openBestForward(model, fallback, batchSize);
  try {
    return { probabilities: await best.run(src), backend: best.backend, note: best.note };
  } finally {
    best.dispose();
  }
}
