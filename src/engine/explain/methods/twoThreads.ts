/**
 * Gradient samples over two threads. TensorFlow.js's wasm backend computes on the thread that calls it, so where the
 * view has a second thread (ModelView.secondThread, parallel/explainReplica.ts) each round of up to 2 × batch
 * samples is split in two: the second half goes to the other thread and the first is computed here meanwhile, then
 * the two sums are added in order. Each thread holds at most `batch` images at a time and has its own wasm heap, so
 * the memory budget behind `batch` (budget.ts fitBatch) holds per thread. A round the other thread cannot take at
 * once (busy with another request, failed) runs here. Only a costly model waits for a thread still loading.
 */
import * as tf from '@tensorflow/tfjs';
import { explainThreadsPay, SPLIT_MIN_MACS } from '../../parallel/replica';
import type { ModelView } from '../types';
import { pacer, type Pause } from '../pacing';
import { checkAborted, gradientSum } from './common';

/**
 * Σ over `n` samples of ∂y_target/∂x, [1, h, w, c]. `samples(start, size)` makes samples start … start + size − 1 and
 * is called in order, so a seeded generator draws the same samples whichever thread gets them. Without a second
 * thread this is the one-thread computation, chunk by chunk, unchanged. `pause` is awaited between rounds (pacing.ts).
 */
export async function sampledGradientSum(
  view: ModelView,
  n: number,
  batch: number,
  target: number,
  samples: (start: number, size: number) => tf.Tensor4D,
  signal?: AbortSignal,
  pause?: Pause,
): Promise<tf.Tensor4D> {
  const local = (s: number, size: number) => tf.tidy(() => gradientSum(view, samples(s, size), target));
  const peer = explainThreadsPay() ? view.secondThread : undefined;
  // A costly model's samples take seconds on one thread, the second thread about 0.6 s to load: waiting for it pays
  // back (SmoothGrad at 224×224×3: ~10 s alone, ~6 s split).
  if (peer && (view.cost?.macs ?? 0) >= SPLIT_MIN_MACS) await peer.ready;
  const tick = pacer(pause, signal);
  const parts: tf.Tensor[] = [];
  try {
    for (let s = 0; s < n; s += 2 * batch) {
      // Between rounds the event loop has turned (the awaits here), so a cancel has arrived: no further half is sent.
      await tick();
      const size = Math.min(2 * batch, n - s);
      if (!peer || size < 2 || !peer.available()) {
        for (let c = s; c < s + size; c += batch) parts.push(local(c, Math.min(batch, s + size - c)));
        continue;
      }
      const nB = size >> 1;
      const nA = size - nB;
      const [a, b] = tf.tidy(() => tf.split(samples(s, size), [nA, nB]) as tf.Tensor4D[]);
      try {
        // A copy in a buffer of its own, moved (not copied again) to the worker.
        const remote = peer.gradientSum(new Float32Array(b.dataSync()), nB, target);
        remote.catch(() => undefined); // awaited below; this keeps a failure unhandled-free if this thread throws first
        parts.push(gradientSum(view, a, target));
        let sum: Float32Array | undefined;
        try {
          sum = await remote;
        } catch {
          // The other thread failed (it stopped, or cannot run this model); it reports unavailable from now on.
        }
        parts.push(sum ? tf.tensor4d(sum, [1, ...view.inputShape]) : gradientSum(view, b, target));
      } finally {
        a.dispose();
        b.dispose();
      }
    }
    checkAborted(signal);
    return tf.tidy(() => tf.sum(tf.concat(parts, 0), 0, true) as tf.Tensor4D);
  } finally {
    tf.dispose(parts);
  }
}
