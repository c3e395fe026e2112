/**
 * Explanation latency: `npm run bench:explain -- --json`. Median milliseconds per method and per counterfactual
 * for one 28×28 image with the bundled model, after one warm-up call each. The last line is one JSON object.
 *
 * `--input 224x224x3` benchmarks photo size instead: MobileNetV2 (α 1, 1000 classes, random weights: speed only) on
 * a synthetic photo, forward passes on ONNX Runtime where it loads (the engine's own export, checked against TF.js),
 * gradients on TF.js, and as the reference ONNX Runtime's public API running the same exported graph in the same
 * run. The last line is
 * `{"model", "input", "macs_per_image", "backend", "predict_img_s", "methods": {"<id>": {"ms"}}, "counterfactuals": {"<id>": {"ms"}}, …}`.
 * Each method runs once after one Grad-CAM warm-up unless `--repeats` says otherwise (the gradient methods take
 * tens of seconds on wasm).
 *
 * SmoothGrad, Integrated Gradients and the gradient counterfactual split their work with a second thread where the
 * engine process would (wasm on two cores or more), loaded before the timings; `XAI_LENS_THREADS=1` keeps them on
 * one, for an A/B. The JSON records `threads`.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { initBackend, parseBackendChoice } from '../src/engine/backend/backends';
import { loadModel } from '../src/engine/io/modelFolder';
import { createModelView, type ModelViewImpl } from '../src/engine/explain/modelView';
import { EXPLAINERS } from '../src/engine/explain/registry';
import { getCounterfactualMethod } from '../src/engine/explain/counterfactuals/registry';
import { resolveOptions } from '../src/engine/options';
import type { Counterfactual } from '../src/engine/explain/counterfactuals/types';
import { gradientCounterfactualOn } from '../src/engine/explain/counterfactuals/gradient';
import { readImageFile } from '../src/engine/image/decode';
import { buildMobileNetV2 } from '../src/engine/models/mobilenetv2';
import { fitBatch } from '../src/engine/explain/budget';
import { prepareNativeForward, type NativeStatus } from '../src/engine/native/nativeForward';
import { ONNX_INPUT, ONNX_OUTPUT, exportOnnx } from '../src/engine/native/onnxExport';
import { ortThreads } from '../src/engine/native/ort';
import { median, medianMs } from './benchStats';
import { defaultModelDir, packageRoot } from '../src/engine/paths';
import { explainThreadsPay } from '../src/engine/parallel/replica';
import { ExplainReplica } from '../src/engine/parallel/explainReplica';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    model: { type: 'string' },
    image: { type: 'string' },
    backend: { type: 'string' },
    repeats: { type: 'string' },
    input: { type: 'string' },
    alpha: { type: 'string', default: '1' },
    methods: { type: 'string' },
  },
});

const log = (s: string) => {
  if (!values.json) console.error(s);
};

/** A smooth synthetic photo in [0, 1]: colour ramps and a bright disc. */
function photo([h, w, c]: [number, number, number]): Float32Array {
  const x = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let i = 0; i < w; i++) {
      const disc = (y - 0.4 * h) ** 2 + (i - 0.6 * w) ** 2 < (0.18 * h) ** 2 ? 0.5 : 0;
      for (let k = 0; k < c; k++) x[(y * w + i) * c + k] = Math.min(1, 0.15 + 0.3 * ((k + 1) * y / h + i / w) / (k + 2) + disc);
    }
  }
  return x;
}

/**
 * Sets every batch normalisation's moving statistics to those of its input on a few images, in graph order (a
 * data-dependent start, as in LSUV). Untrained, MobileNetV2's activations fade to ~1e-11 by the head, so every image
 * gets the same uniform prediction and counterfactual searches can only fail, their slowest path; calibrated, its
 * decisions vary with the input as a trained model's do. Speed only: the weights stay random.
 */
function calibrateBatchNorm(model: tf.LayersModel, image: Float32Array, shape: [number, number, number]): void {
  const n = 4;
  const xs = tf.tidy(() => tf.concat([tf.tensor4d(image, [1, ...shape]), tf.randomUniform([n - 1, ...shape], 0, 1, 'float32', 7)], 0));
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const upTo = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
    tf.tidy(() => {
      const { mean, variance } = tf.moments(upTo.predict(xs) as tf.Tensor, [0, 1, 2]);
      const [gamma, beta] = layer.getWeights();
      layer.setWeights([gamma, beta, mean, variance]);
    });
  }
  xs.dispose();
}

/** The engine process's second thread for the gradient methods, loaded now so that it is not timed. */
async function secondThread(view: ModelViewImpl, model: tf.LayersModel, backend: string): Promise<ExplainReplica | undefined> {
  if (!explainThreadsPay()) return undefined;
  const replica = new ExplainReplica(model, backend);
  await replica.ready;
  if (replica.error) {
    log(`second thread unavailable: ${replica.error.message}`);
    return undefined;
  }
  view.secondThread = replica;
  return replica;
}

async function methodsAndCounterfactuals(view: ModelViewImpl, image: Float32Array, repeats: number, warmUp: boolean) {
  const shape = view.inputShape;
  const p = view.probabilities(tf.tensor4d(image, [1, ...shape]));
  const target = tf.argMax(p, 1).dataSync()[0];
  p.dispose();
  const req = { image, shape, target, layer: view.defaultLayer, seed: 1 };
  const only = values.methods?.split(',');
  const methods: Record<string, { ms: number; [k: string]: unknown }> = {};
  const skipped: Record<string, string> = {};
  for (const e of EXPLAINERS) {
    if (only && !only.includes(e.id)) continue;
    // As explainImage does: a method that does not apply to this model (attention maps without attention layers).
    const reason = e.unavailable?.(view);
    if (reason) {
      skipped[e.id] = reason;
      log(`${e.id}: skipped (${reason})`);
      continue;
    }
    let scores: Record<string, unknown> | undefined;
    const ms = await medianMs(repeats, async () => {
      scores = (await e.explain(view, req)).scores;
    }, warmUp);
    methods[e.id] = { ms };
    for (const k of ['samples', 'steps', 'maps', 'batch', 'forwardBatch', 'note']) if (scores?.[k] !== undefined) methods[e.id][k] = scores[k];
    log(`${e.id}: ${ms.toFixed(1)} ms`);
  }
  const lanes = fitBatch(view.cost, 4, 'gradient counterfactual').batch;
  const counterfactuals: Record<string, { ms: number; found?: boolean; iterations?: number; l2?: number; lanes?: number }> = {};
  const timeSearch = async (id: string, search: () => Promise<Counterfactual>) => {
    let last: Counterfactual | undefined;
    const ms = await medianMs(Math.min(repeats, 5), async () => {
      last = await search();
    }, warmUp);
    counterfactuals[id] = { ms, found: last?.found, iterations: last?.iterations, l2: last?.l2, ...(last?.lanes ? { lanes: last.lanes } : {}) };
  };
  if (!only || only.includes('gradient')) {
    await timeSearch('gradient', () => gradientCounterfactualOn(view, image, shape, { seed: 1, parallel: lanes }));
  }
  if (!only || only.includes('growing-spheres')) {
    const method = getCounterfactualMethod('growing-spheres');
    const options = resolveOptions(method.options, {}, 'growing-spheres');
    await timeSearch('growing-spheres', async () => method.run(view, { image, shape, target: 'any', options, seed: 1 }));
  }
  log(`counterfactuals: ${JSON.stringify(counterfactuals)}`);
  return { methods, counterfactuals, skipped };
}

/**
 * ONNX Runtime's public API on the same exported graph and batch: the reference. Returns a timed run, or undefined
 * where onnxruntime-node does not load.
 */
async function ortReference(model: tf.LayersModel, images: Float32Array, dims: number[]): Promise<{ run: () => Promise<unknown>; release: () => Promise<void> } | undefined> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const session = await ort.InferenceSession.create(exportOnnx(model), { executionProviders: ['cpu'], intraOpNumThreads: ortThreads(), graphOptimizationLevel: 'all' });
    const feeds = { [ONNX_INPUT]: new ort.Tensor('float32', images, dims) };
    return { run: () => session.run(feeds, [ONNX_OUTPUT]), release: () => session.release() };
  } catch (e) {
    log(`ONNX Runtime reference unavailable: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Medians of each function's run times, measured in alternating rounds so that both see the same machine. Each is
 * first run `warmUps` times: ONNX Runtime's first few runs at a new batch shape are several times slower (its memory
 * arena and thread pool settle; about 1.5 s in all at 224×224×3, batch 32), which is start-up, not throughput.
 */
async function interleavedMedians(fs: Array<() => Promise<unknown> | unknown>, rounds: number, warmUps = 5): Promise<number[]> {
  for (const f of fs) for (let i = 0; i < warmUps; i++) await f();
  const times = fs.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fs.length; i++) {
      const t0 = performance.now();
      await fs[i]();
      times[i].push(performance.now() - t0);
    }
  }
  if (process.env.XAI_LENS_BENCH_TRACE) log(JSON.stringify(times.map((t) => t.map(Math.round))));
  return times.map(median);
}

async function photoSize(input: string) {
  const m = /^(\d+)x(\d+)x(1|3)$/.exec(input);
  if (!m) throw new Error(`--input must look like 224x224x3, got "${input}"`);
  const shape = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  const backend = await initBackend(parseBackendChoice(values.backend));
  const alpha = Number(values.alpha);
  const model = buildMobileNetV2({ inputShape: shape, numClasses: 1000, alpha, seed: 1 });
  calibrateBatchNorm(model, photo(shape), shape);
  const native: NativeStatus = await prepareNativeForward(model);
  if (native.note) log(native.note);
  const view = createModelView(model, { native: native.forward });
  const batch = 32;
  const images = new Float32Array(batch * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < images.length; i++) images[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
  const xb = tf.tensor4d(images, [batch, ...shape]);
  const reference = await ortReference(model, images, [batch, ...shape]);
  // The engine's path and the reference alternate; TF.js runs apart, as its long runs leave ONNX Runtime's threads to
  // wake up again for the next call.
  const [predictMs, referenceMs] = await interleavedMedians([
    () => view.probabilities(xb).dispose(),
    ...(reference ? [reference.run] : []),
  ], 9);
  await reference?.release();
  const wasmView = createModelView(model);
  const wasmMs = await medianMs(3, () => wasmView.probabilities(xb).dispose());
  xb.dispose();
  const referenceRate = referenceMs ? batch / (referenceMs / 1000) : undefined;
  const predict = batch / (predictMs / 1000);
  log(`predict: ${predict.toFixed(1)} img/s (${view.forwardBackend}), TF.js ${backend.name} ${(batch / (wasmMs / 1000)).toFixed(1)} img/s, ONNX Runtime reference ${referenceRate?.toFixed(1)} img/s`);
  const repeats = Number(values.repeats ?? 1);
  const image = photo(shape);
  const replica = await secondThread(view, model, backend.name);
  // Warm-up: kernels and XNNPACK operators are set up by the first gradient and probe.
  await EXPLAINERS[0].explain(view, { image, shape, target: 0, layer: view.defaultLayer, seed: 1 });
  const { methods, counterfactuals, skipped } = await methodsAndCounterfactuals(view, image, repeats, repeats > 1);
  console.log(JSON.stringify({
    model: `mobilenetv2 (alpha ${alpha}, 1000 classes, random weights)`,
    input: input,
    macs_per_image: view.cost.macs,
    backend: `${view.forwardBackend} forward, ${backend.name} gradients`,
    predict_img_s: predict,
    predict_batch: batch,
    predict_img_s_tfjs: batch / (wasmMs / 1000),
    onnxruntime_img_s: referenceRate,
    predict_vs_onnxruntime: referenceRate ? predict / referenceRate : undefined,
    onnxruntime_threads: native.forward?.threads,
    native_note: native.note,
    default_layer: view.defaultLayer,
    repeats,
    threads: replica ? 2 : 1,
    methods,
    ...(Object.keys(skipped).length ? { skipped } : {}),
    counterfactuals,
  }));
  await replica?.close();
  model.dispose();
}

async function digits() {
  const backend = await initBackend(parseBackendChoice(values.backend));
  const dir = values.model ?? defaultModelDir();
  const model = await loadModel(dir);
  const view = createModelView(model);
  const replica = await secondThread(view, model, backend.name);
  const img = await readImageFile(values.image ?? join(packageRoot(), 'media', 'samples', 'digit-7.png'));
  const { methods, counterfactuals } = await methodsAndCounterfactuals(view, img.data, Number(values.repeats ?? 7), true);
  await replica?.close();
  console.log(JSON.stringify({ model: dir, backend: backend.name, threads: replica ? 2 : 1, methods: Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, { ms: v.ms }])), counterfactuals: Object.fromEntries(Object.entries(counterfactuals).map(([k, v]) => [k, { ms: v.ms }])) }));
  model.dispose();
}

(values.input ? photoSize(values.input) : digits()).catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
