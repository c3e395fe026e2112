/**
 * A float32 tensor's values without copying them out of the backend, for a synchronous consumer (ONNX Runtime's
 * forward pass) that reads them at once.
 *
 * `dataSync` allocates a new array per call. At 224×224×3 a batch of 32 is 19 MB, and a fresh allocation of that
 * size costs 20–70 ms on the machines measured (first-touch page faults), as much as half the forward pass it feeds.
 * The wasm backend keeps every tensor in its heap and the cpu backend keeps a typed array per tensor, so both can
 * hand out a view; other backends (tfjs-node) copy.
 *
 * The view is valid only until the next TF.js operation: the wasm heap may grow (detaching the view) and the tensor
 * may be disposed. Callers use it at once and never keep it.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null; dtype: string } | undefined };
}

interface CpuBackendInternals {
  data: { get(dataId: object): { values?: unknown; dtype: string } | undefined };
}

/** The values of float32 tensor `t`, as a view where the backend allows it, else a copy. */
export function float32View(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`float32View: tensor is ${t.dtype}`);
  const backend = tf.backend() as unknown;
  const name = tf.getBackend();
  if (name === 'wasm') {
    const b = backend as WasmBackendInternals;
    const entry = b.dataIdMap.get(t.dataId);
    if (entry && entry.memoryOffset !== null && entry.dtype === 'float32') {
      return new Float32Array(b.wasm.HEAPU8.buffer, entry.memoryOffset, t.size);
    }
  } else if (name === 'cpu') {
    const values = (backend as CpuBackendInternals).data.get(t.dataId)?.values;
    if (values instanceof Float32Array && values.length === t.size) return values;
  }
  return t.dataSync() as Float32Array;
}
