/**
 * One explanation run for one image: prediction, every requested attribution method, faithfulness metrics for each,
 * and optionally a counterfactual. Shared by the CLI and (later) the extension's engine process.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import type { ModelViewImpl } from './modelView';
import type { Attribution, Explainer, ImageShape } from './types';
import { getCounterfactualMethod, NO_COUNTERFACTUAL } from './counterfactuals/registry';
import type { Counterfactual } from './counterfactuals/types';
import { resolveOptions } from '../options';
import type { MethodMetrics } from '../../shared/protocol';
import { faithfulness } from './deletion';
import { clarity, norms } from './stats';
import { argmax } from '../inference';
import { fitBatch } from './budget';
import type { Pause } from './pacing';


export interface ExplainOptions {
  methods: Explainer[];
  /** Class to explain; default the predicted class. */
  target?: number;
  /** 4-D layer for CAM methods; default the view's default layer. */
  layer?: string;
  /** A counterfactual method id (counterfactuals/registry.ts), or 'none' (the default). */
  counterfactual?: string;
  /** Options of the counterfactual method; absent ones keep the defaults of its schema. */
  counterfactualOptions?: Record<string, unknown>;
  /** Target class of the counterfactual: 'any' other class (default) or a class index (contrastive: the true label). */
  counterfactualTarget?: number | 'any';
  /** Per-method options, e.g. { smoothgrad: { samples: 50 } }; each method checks them against its schema. */
  methodOptions?: Record<string, Record<string, unknown> | undefined>;
  metrics?: boolean;
  seed?: number;
  signal?: AbortSignal;
  /**
   * Awaited before each step (method, counterfactual) and, as the methods' `pause`, between a long step's batches: the
   * engine process holds an older request here while a newer one runs.
   */
  beforeStep?: Pause;
  /** Called after each finished step, for progress reporting. */
  onStep?: (done: number, total: number, what: string) => void;
  /** Called after each method with everything computed so far (no counterfactual yet), so a UI can paint early. */
  onPartial?: (partial: ExplainResult) => void;
}

export interface ExplainResult {
  prediction: { label: number; probabilities: number[] };
  target: number;
  layer: string;
  attributions: Attribution[];
  metrics: Record<string, MethodMetrics>;
  /** Requested methods that do not apply to this model (e.g. attention maps without attention layers), with why. */
  skipped: { method: string; reason: string }[];
  counterfactual?: Counterfactual;
  /** What the run had to adapt, one line each (e.g. a batch cut to fit the memory budget). */
  notes?: string[];
}

/** Whether a run of these methods and this counterfactual would split gradient work with a second thread. */
export function usesSecondThread(methods: readonly Explainer[], counterfactual: string | undefined): boolean {
  if (methods.some((e) => e.capabilities.secondThread)) return true;
  return !!counterfactual && counterfactual !== NO_COUNTERFACTUAL && getCounterfactualMethod(counterfactual).secondThread === true;
}

export function predictOne(view: ModelViewImpl, image: Float32Array, shape: ImageShape): number[] {
  const probs = tf.tidy(() => view.probabilities(tf.tensor4d(image, [1, ...shape])));
  const p = Array.from(probs.dataSync());
  probs.dispose();
  return p;
}

export async function explainImage(view: ModelViewImpl, image: Float32Array, opts: ExplainOptions): Promise<ExplainResult> {
  const shape = view.inputShape;
  const probabilities = predictOne(view, image, shape);
  const label = probabilities.indexOf(Math.max(...probabilities));
  const target = opts.target ?? label;
  if (!Number.isInteger(target) || target < 0 || target >= view.numClasses) {
    throw new XaiLensError(`class ${target} is out of range: the model has classes 0..${view.numClasses - 1}`);
  }
  const layer = opts.layer ?? view.defaultLayer;
  view.layerShape(layer); // validates the name with a helpful message
  const cfMethod = opts.counterfactual && opts.counterfactual !== NO_COUNTERFACTUAL ? getCounterfactualMethod(opts.counterfactual) : undefined;
  const cfOptions = cfMethod ? resolveOptions(cfMethod.options, opts.counterfactualOptions, `counterfactual ${cfMethod.id}`) : {};
  const total = opts.methods.length + (cfMethod ? 1 : 0);
  let done = 0;
  const attributions: Attribution[] = [];
  const notes: string[] = [];
  const metrics: Record<string, MethodMetrics> = {};
  const skipped: ExplainResult['skipped'] = [];
  for (const method of opts.methods) {
    const reason = method.unavailable?.(view);
    if (reason) {
      skipped.push({ method: method.id, reason });
      opts.onStep?.(++done, total, `${method.id} skipped: ${reason}`);
      continue;
    }
    // The methods run synchronously on wasm/cpu; turning the event loop lets a cancel request (RPC, Ctrl-C) arrive.
    await new Promise((r) => setImmediate(r));
    await opts.beforeStep?.();
    if (opts.signal?.aborted) throw new XaiLensError('cancelled');
    const a = await method.explain(view, { image, shape, target, layer, options: opts.methodOptions?.[method.id], seed: opts.seed, signal: opts.signal, pause: opts.beforeStep });
    attributions.push(a);
    if (typeof a.scores?.note === 'string') notes.push(a.scores.note);
    const partial = () => ({ prediction: { label, probabilities }, target, layer, attributions: [...attributions], metrics: { ...metrics }, skipped: [...skipped] });
    // The first map is what a panel waits for: it goes out before its metrics, whose first forward passes at new
    // batch shapes cost ONNX Runtime a few hundred milliseconds in a fresh process.
    if (attributions.length === 1 && opts.metrics !== false) opts.onPartial?.(partial());
    if (opts.metrics !== false) {
      const f = faithfulness(view.probabilities, image, shape, a.heatmap, target, { seed: opts.seed });
      metrics[method.id] = { ...f, clarity: clarity(a.heatmap) };
    }
    opts.onStep?.(++done, total, method.id);
    opts.onPartial?.(partial());
  }
  await new Promise((r) => setImmediate(r));
  if (opts.counterfactual && opts.counterfactual !== 'none') await opts.beforeStep?.();
  if (opts.signal?.aborted) throw new XaiLensError('cancelled');
  let counterfactual: Counterfactual | undefined;
  if (cfMethod) {
    const target = opts.counterfactualTarget ?? 'any';
    // The gradient method's λ lanes are one forward + backward batch: as many as fit the memory budget, and by
    // default one per thread on photo-sized models.
    if (typeof cfOptions.parallel === 'number') {
      const asked = opts.counterfactualOptions?.parallel !== undefined;
      const wanted = !asked && view.cost.macs >= PHOTO_LANE_MACS ? Math.min(cfOptions.parallel, PHOTO_LANES) : cfOptions.parallel;
      const lanes = fitBatch(view.cost, wanted, `${cfMethod.id} counterfactual`);
      if (lanes.note) notes.push(lanes.note);
      cfOptions.parallel = lanes.batch;
    }
    counterfactual = await cfMethod.run(view, { image, shape, target, options: cfOptions, seed: opts.seed, signal: opts.signal, pause: opts.beforeStep });
    counterfactual = quantizeCounterfactual(view, image, shape, counterfactual);
    opts.onStep?.(++done, total, `counterfactual (${cfMethod.id})`);
  }
  return { prediction: { label, probabilities }, target, layer, attributions, metrics, skipped, counterfactual, notes };
}

/**
 * From this many multiply-accumulates per image, the gradient counterfactual defaults to PHOTO_LANES λ lanes (one per
 * thread): each lane is a forward and backward pass, and a TF.js graph MobileNetV2 at 224×224×3 took 13.4 s for its
 * 40 steps with the default 4 lanes, where 2 lanes keep the search within ~7 s (the benchmark's MobileNetV2, whose
 * memory budget already allowed only 2).
 */
const PHOTO_LANE_MACS = 1e8;
const PHOTO_LANES = 2;

/** Extensions of the change tried, in order, when 8-bit rounding undoes a counterfactual that sits on the boundary. */
const EXTEND = [1, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2];

/**
 * The counterfactual as it will be stored and shown: an 8-bit image (PNG). Optimised counterfactuals sit close to the
 * decision boundary, where rounding to 1/255 can undo the class change; then the change is extended a little along
 * its own direction until the rounded image keeps the new class. Norms and probability describe the rounded image.
 */
export function quantizeCounterfactual(view: ModelViewImpl, x: Float32Array, shape: ImageShape, cf: Counterfactual): Counterfactual {
  if (!cf.found) return cf;
  const n = x.length;
  const candidates = new Float32Array(EXTEND.length * n);
  EXTEND.forEach((f, k) => {
    for (let i = 0; i < n; i++) candidates[k * n + i] = Math.round(Math.min(1, Math.max(0, x[i] + f * cf.diff[i])) * 255) / 255;
  });
  const probs = tf.tidy(() => view.probabilities(tf.tensor4d(candidates, [EXTEND.length, ...shape])));
  const p = probs.dataSync();
  probs.dispose();
  const k = p.length / EXTEND.length;
  for (let c = 0; c < EXTEND.length; c++) {
    const row = p.subarray(c * k, (c + 1) * k);
    const label = argmax(row, 0, k);
    const wanted = cf.target === 'any' ? label !== cf.originalLabel : label === cf.target;
    if (!wanted) continue;
    const image = candidates.slice(c * n, (c + 1) * n);
    const diff = Float32Array.from(image, (v, i) => v - x[i]);
    return { ...cf, image, diff, label, probability: row[label], ...norms(diff) };
  }
  return { ...cf, found: false };
}
