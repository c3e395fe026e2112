/**
 * Every counterfactual method, registered once. A counterfactual is a small change to the image that changes the
 * model's decision ("had these pixels been so, the model would have said k"). Contrastive explanations: for a
 * misclassified input, pass its true label as the target; the counterfactual is then what the image would need for
 * the model to read it correctly — the "pertinent negative" flavour of Dhurandhar et al., "Explanations based on the
 * Missing" (NeurIPS 2018), without their autoencoder term.
 *
 * Cancellation: the searches are synchronous (the gradient one awaits its second thread between steps, where it has
 * one), so an AbortSignal is polled between model batches (and before anything runs); an aborted signal throws
 * XaiLensError('cancelled') and leaves no tensors behind.
 */
import type { Descriptor, OptionValues } from '../../../shared/descriptors';
import { XaiLensError } from '../../errors';
import { scaledSamples } from '../budget';
import type { Pause } from '../pacing';
import type { ImageShape, ModelView } from '../types';
import { gradientCounterfactualOn, GRADIENT_COUNTERFACTUAL_OPTIONS } from './gradient';
import { growingSpheresPaced, GROWING_SPHERES_OPTIONS } from './growingSpheres';
import type { Counterfactual, CounterfactualTarget } from './types';

export interface CounterfactualRequest {
  /** The image in model-input form: h × w × c values in [0, 1]. */
  image: Float32Array;
  shape: ImageShape;
  target: CounterfactualTarget;
  /** The method's options, resolved against its schema. */
  options: OptionValues;
  seed?: number;
  signal?: AbortSignal;
  /** Awaited between the search's steps, so a cancel or a newer request gets in (pacing.ts). */
  pause?: Pause;
}

export interface CounterfactualMethodSpec extends Descriptor {
  /** Needs gradients of the model (white-box); otherwise probabilities only. */
  usesGradients: boolean;
  /** Splits its work with the engine's second thread (`ModelView.secondThread`) when there is one. */
  secondThread?: boolean;
  run(model: Pick<ModelView, 'scores' | 'probabilities' | 'flatProbabilities' | 'secondThread' | 'cost'>, req: CounterfactualRequest): Counterfactual | Promise<Counterfactual>;
}

export const COUNTERFACTUALS: readonly CounterfactualMethodSpec[] = [
  {
    id: 'gradient',
    label: 'Gradient (elastic-net)',
    description: 'Gradient-based (Wachter et al. 2017, elastic-net distance)',
    usesGradients: true,
    options: GRADIENT_COUNTERFACTUAL_OPTIONS,
    secondThread: true,
    run: (m, r) => gradientCounterfactualOn(m, r.image, r.shape, { ...r.options, target: r.target, seed: r.seed, signal: r.signal, pause: r.pause }),
  },
  {
    id: 'growing-spheres',
    label: 'Growing Spheres',
    description: 'Growing Spheres (Laugel et al. 2018, black-box)',
    usesGradients: false,
    options: GROWING_SPHERES_OPTIONS,
    run: (m, r) => growingSpheresPaced(m, r.image, r.shape, {
      ...r.options,
      // No limit of its own: SAMPLE_MAC_BUDGET's worth of images (at least 512), none where the cost is unknown.
      maxEvaluations: (r.options.maxEvaluations as number) || (m.cost ? scaledSamples(m.cost, Infinity, 512) : Infinity),
      target: r.target, seed: r.seed, signal: r.signal, pause: r.pause,
    }),
  },
];

/** What a user picks: a method id, or 'none'. */
export const NO_COUNTERFACTUAL = 'none';

export function getCounterfactualMethod(id: string): CounterfactualMethodSpec {
  const m = COUNTERFACTUALS.find((c) => c.id === id.trim().toLowerCase());
  if (!m) {
    throw new XaiLensError(`unknown counterfactual method "${id}"; available: ${[...COUNTERFACTUALS.map((c) => c.id), NO_COUNTERFACTUAL].join(', ')}`);
  }
  return m;
}
