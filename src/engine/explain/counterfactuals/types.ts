/** What every counterfactual method returns, and the target it searches for. */

/** Class to reach: a class index, or 'any' class but the original prediction. */
export type CounterfactualTarget = number | 'any';

export interface Counterfactual {
  /** Id of the method in the counterfactual registry. */
  method: string;
  /** h × w × c values in [0, 1]. */
  image: Float32Array;
  /** Class the model gives `image`, and its probability. */
  label: number;
  probability: number;
  /** Class the model gives the original input. */
  originalLabel: number;
  target: CounterfactualTarget;
  /** image − original, per value. */
  diff: Float32Array;
  /** Values changed by more than 1e-6. */
  l0: number;
  l1: number;
  l2: number;
  linf: number;
  /** Growing spheres: layers searched + refinement steps + sparsification rounds; gradient: optimiser steps. */
  iterations: number;
  ms: number;
  /** Whether `image` is classified as the target (any class but the original for 'any'). */
  found: boolean;
  /** Growing spheres: L2 distance of the closest enemy of the first layer that held one (the paper's answer). */
  l2FirstEnemy?: number;
  /** Growing spheres: L2 and L0 of the enemy handed to sparsification (after boundary refinement). */
  l2BeforeSparsification?: number;
  l0BeforeSparsification?: number;
  /** Growing spheres: the side in pixels of the blocks its changes were sampled on (1: pixel by pixel). */
  searchBlock?: number;
  /** Gradient: the distance weight λ of the returned candidate. */
  lambda?: number;
  /** Gradient: values of λ optimised side by side. */
  lanes?: number;
}
