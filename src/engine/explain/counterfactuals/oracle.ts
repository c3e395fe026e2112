/** What the counterfactual searches share: the model as batches of flat images, input checks, the result's norms. */
import { XaiLensError } from '../../errors';
import { argmax } from '../../inference';
import type { FlatProbFn, ImageShape } from '../types';
import { flatProbabilitiesOf, type ProbabilitySource } from '../flatProbabilities';
import type { Counterfactual, CounterfactualTarget } from './types';

export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new XaiLensError('cancelled');
}

/** The model seen as batches of flat images; counts what it evaluates. */
export class Oracle {
  readonly size: number;
  classes = 0;
  evaluated = 0;
  private readonly flat: FlatProbFn;

  constructor(
    source: ProbabilitySource,
    readonly shape: ImageShape,
    private readonly batchSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.size = shape[0] * shape[1] * shape[2];
    this.flat = flatProbabilitiesOf(source, shape, batchSize);
  }

  /** Probabilities of n images stored back to back: n × classes. */
  predict(data: Float32Array, n: number): Float32Array {
    let out = new Float32Array(0);
    for (let s = 0; s < n; s += this.batchSize) {
      checkAbort(this.signal);
      const m = Math.min(this.batchSize, n - s);
      const v = this.flat(data.subarray(s * this.size, (s + m) * this.size), m);
      this.classes = v.length / m;
      if (out.length === 0) out = new Float32Array(n * this.classes);
      out.set(v, s * this.classes);
    }
    this.evaluated += n;
    return out;
  }

  /** Arg-max class of each of n images. */
  labels(data: Float32Array, n: number): Int32Array {
    const p = this.predict(data, n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = argmax(p, i * this.classes, this.classes);
    return out;
  }
}

export function checkInput(x: Float32Array, shape: ImageShape): void {
  const size = shape[0] * shape[1] * shape[2];
  if (x.length !== size) throw new XaiLensError(`image has ${x.length} values, expected ${size} (${shape.join('×')})`);
}

export function checkTarget(target: CounterfactualTarget, classes: number): void {
  if (target === 'any') return;
  if (!Number.isInteger(target) || target < 0 || target >= classes) {
    throw new XaiLensError(`invalid target class ${String(target)} (model has ${classes} classes)`);
  }
}

export function isEnemy(label: number, original: number, target: CounterfactualTarget): boolean {
  return target === 'any' ? label !== original : label === target;
}

export function l2dist(a: Float32Array, aAt: number, x: Float32Array): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) {
    const d = a[aAt + j] - x[j];
    s += d * d;
  }
  return Math.sqrt(s);
}

export interface SearchOutcome {
  method: string;
  /** The counterfactual image and the original input. */
  image: Float32Array;
  x: Float32Array;
  /** The model's probabilities for `image`. */
  probabilities: Float32Array;
  originalLabel: number;
  target: CounterfactualTarget;
  iterations: number;
  /** performance.now() when the search started. */
  startedAt: number;
  /** Method-specific fields (Counterfactual's optional ones). */
  extra?: Partial<Counterfactual>;
}

/** The Counterfactual of a finished search: its label, the change and the change's norms. */
export function counterfactualOf(o: SearchOutcome): Counterfactual {
  const { image, x } = o;
  const diff = new Float32Array(x.length);
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let linf = 0;
  for (let j = 0; j < x.length; j++) {
    const d = (diff[j] = image[j] - x[j]);
    const a = Math.abs(d);
    if (a > 1e-6) l0++;
    l1 += a;
    l2 += a * a;
    if (a > linf) linf = a;
  }
  const p = o.probabilities;
  const label = argmax(p, 0, p.length);
  return {
    method: o.method,
    image,
    label,
    probability: p[label],
    originalLabel: o.originalLabel,
    target: o.target,
    diff,
    l0,
    l1,
    l2: Math.sqrt(l2),
    linf,
    iterations: o.iterations,
    ms: performance.now() - o.startedAt,
    found: isEnemy(label, o.originalLabel, o.target),
    ...o.extra,
  };
}
