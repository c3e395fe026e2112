/** Named training recipes. `default` is the recipe that produced the bundled model (npm run train:default). */
import { XaiLensError } from '../errors';
import type { AugmentationOptions } from './trainer';

export interface Preset {
  epochs: number;
  batchSize: number;
  learningRate: number;
  alpha: number;
  /** Stem stride; 2 makes a 28×28 model ~3× cheaper (14×14 → 7×7 → 4×4 feature maps). */
  stemStride?: number;
  valFraction: number;
  augmentation: AugmentationOptions | false;
  plateau: { factor: number; patience: number; minLearningRate: number };
  earlyStoppingPatience: number;
}

export const PRESETS: Record<string, Preset> = {
  default: {
    epochs: 10,
    batchSize: 128,
    learningRate: 2e-3,
    alpha: 1,
    stemStride: 2,
    valFraction: 1 / 12,
    augmentation: { rotationDeg: 12, translatePx: 2, elastic: { alpha: 8, sigma: 3, probability: 0.3 } },
    plateau: { factor: 0.3, patience: 1, minLearningRate: 1e-5 },
    earlyStoppingPatience: 4,
  },
};

export function getPreset(name: string | undefined): Preset {
  const key = name ?? 'default';
  const p = PRESETS[key];
  if (!p) throw new XaiLensError(`unknown preset "${key}"; available: ${Object.keys(PRESETS).join(', ')}`);
  return p;
}
