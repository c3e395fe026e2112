/**
 * Training and inference throughput per backend: `npm run bench:train -- --json`. Prints medians after warm-up; the
 * last line is one JSON object. Backends that are not installed are left out. The cpu backend is ~1000× slower
 * than the others, so it is timed on a few small steps only (its batch sizes are reported with it).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend, type BackendChoice } from '../src/engine/backend/backends';
import { getArchitecture } from '../src/engine/models/zoo';
import { countMacs } from '../src/engine/models/modelStats';
import { fitBatch, modelCost } from '../src/engine/explain/budget';
import { createTrainStep } from '../src/engine/training/trainer';
import { Replica, createParallelTrainStep, predictInTwoThreads, secondThreadPays } from '../src/engine/parallel/replica';
import { medianMs } from './benchStats';
import { predictProbabilities } from '../src/engine/inference';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    model: { type: 'string', default: 'cbam-mobilenetv2' },
    alpha: { type: 'string', default: '0.75' },
    'stem-stride': { type: 'string', default: '1' },
    backends: { type: 'string', default: 'tensorflow,wasm,cpu' },
    steps: { type: 'string', default: '6' },
    /** Leave out the photo-size measurement (MobileNetV2 α 1 at 224×224×3, batch 32, wasm), which takes minutes. */
    'skip-224': { type: 'boolean' },
  },
});

/**
 * MobileNetV2 (α 1, 1000 classes) at 224×224×3, 32 images per measured step, on wasm: one thread, two steps after a
 * warm-up. A batch of 32 needs ~9.7 GB of activations and aborts the 4 GB wasm heap, so the 32 images go through in
 * micro-batches of the size train() would use (fitBatch), one optimiser step each: `micro_batch` in the JSON.
 */
async function benchPhotoSize(): Promise<Record<string, number> | undefined> {
  const info = await initBackend('wasm');
  if (info.name !== 'wasm') return undefined;
  const shape: [number, number, number] = [224, 224, 3];
  const batch = 32;
  const model = getArchitecture('mobilenetv2').build({ inputShape: shape, numClasses: 1000, options: { alpha: 1 }, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const step = createTrainStep(model, optimizer, shape, 1000);
  const per = shape[0] * shape[1] * shape[2];
  const cost = modelCost(model);
  const micro = fitBatch(cost, batch, 'training').batch;
  const x = randomBatch(batch, per, 3);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 1000);
  const trainMs = await medianMs(2, () => {
    for (let s = 0; s < batch; s += micro) {
      const n = Math.min(micro, batch - s);
      step(x.subarray(s * per, (s + n) * per), labels.subarray(s, s + n), n);
    }
  });
  // Inference holds as much per image (budget.ts), so it goes in the same micro-batches.
  const inferMs = await medianMs(3, () => predictProbabilities(model, { images: x, count: batch, shape }, micro));
  const macs = cost.macs;
  model.dispose();
  optimizer.dispose();
  return { macs_per_image: macs, batch, micro_batch: micro, train_img_s: batch / (trainMs / 1000), infer_img_s: batch / (inferMs / 1000), steps: 2 };
}

function randomBatch(n: number, per: number, seed: number): Float32Array {
  const out = new Float32Array(n * per);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

interface Result {
  /** What `xai-lens train` / `evaluate` run at: two threads on wasm where there are two cores (parallel/replica.ts). */
  threads: number;
  train_img_s: number;
  train_img_s_1_thread: number;
  infer_img_s_1_thread: number;
  infer_img_s: number;
  train_batch: number;
  infer_batch: number;
  steps: number;
}

async function benchBackend(choice: BackendChoice, steps: number): Promise<Result | undefined> {
  try {
    const info = await initBackend(choice);
    if (info.name !== (choice === 'tensorflow' ? 'tensorflow' : choice)) return undefined;
  } catch {
    return undefined; // not installed here
  }
  const slow = choice === 'cpu';
  const trainBatch = slow ? 8 : 128;
  const inferBatch = slow ? 32 : 256;
  const n = slow ? 1 : steps;
  const shape: [number, number, number] = [28, 28, 1];
  const model = getArchitecture(values.model!).build({ inputShape: shape, numClasses: 10, options: { alpha: values.alpha, stemStride: values['stem-stride'] }, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const step = createTrainStep(model, optimizer, shape, 10);
  const labels = Int32Array.from({ length: trainBatch }, (_, i) => i % 10);
  const x = randomBatch(trainBatch, 784, 7);
  // The warm-up (kernel set-up, XNNPACK operator caches) is skipped on cpu, where one step takes seconds.
  const single = trainBatch / ((await medianMs(n, () => step(x, labels, trainBatch), !slow)) / 1000);
  const xi = randomBatch(inferBatch, 784, 9);
  const src = { images: xi, count: inferBatch, shape };
  // Two threads (what train, evaluate and predict use on wasm with two cores): the same batches split in half.
  let parallel: { train: number; infer: number } | undefined;
  if (secondThreadPays(choice)) {
    const replica = await Replica.start(model, 'wasm', shape, 10);
    const pstep = createParallelTrainStep(model, optimizer, shape, 10, replica);
    const trainMs = await medianMs(n, () => pstep(x, labels, trainBatch));
    const inferMs = await medianMs(steps, () => predictInTwoThreads(model, src, inferBatch, replica));
    await replica.close();
    parallel = { train: trainBatch / (trainMs / 1000), infer: inferBatch / (inferMs / 1000) };
  }
  const singleInferMs = await medianMs(slow ? 1 : steps, () => predictProbabilities(model, src, inferBatch));
  model.dispose();
  optimizer.dispose();
  return {
    threads: parallel ? 2 : 1,
    train_img_s: parallel?.train ?? single,
    infer_img_s: parallel?.infer ?? inferBatch / (singleInferMs / 1000),
    train_img_s_1_thread: single,
    infer_img_s_1_thread: inferBatch / (singleInferMs / 1000),
    train_batch: trainBatch,
    infer_batch: inferBatch,
    steps: n,
  };
}

(async () => {
  const shape: [number, number, number] = [28, 28, 1];
  await initBackend('cpu');
  const probe = getArchitecture(values.model!).build({ inputShape: shape, numClasses: 10, options: { alpha: values.alpha, stemStride: values['stem-stride'] }, seed: 1 });
  const summary = { model: `${values.model} (alpha ${values.alpha}, stem stride ${values['stem-stride']}, 28x28x1)`, macs_per_image: countMacs(probe), params: probe.countParams(), batch: 128, infer_batch: 256 };
  probe.dispose();
  const backends: Record<string, Result> = {};
  for (const b of values.backends!.split(',') as BackendChoice[]) {
    const r = await benchBackend(b, Number(values.steps));
    if (r) {
      backends[b] = r;
      if (!values.json) console.error(`${b}: train ${r.train_img_s.toFixed(1)} img/s, inference ${r.infer_img_s.toFixed(1)} img/s`);
    }
  }
  const photo = values['skip-224'] ? undefined : await benchPhotoSize();
  if (photo && !values.json) console.error(`mobilenetv2 224x224x3 wasm: train ${photo.train_img_s.toFixed(1)} img/s, inference ${photo.infer_img_s.toFixed(1)} img/s (batch 32)`);
  console.log(JSON.stringify({ ...summary, backends, ...(photo ? { mobilenetv2_224x224x3_wasm: photo } : {}) }));
})();
