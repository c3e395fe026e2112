/**
 * How EfficientNetB0, ResNet50 and VGG16 fit themselves to the input size. Layers, kernel sizes and widths are the
 * paper's; only strides change, so a backbone's parameter count does not depend on the input size (only on its input
 * channels and classes).
 * - The stem has stride 2 for inputs over 32 px (ImageNet practice) and 1 up to 32 px (CIFAR practice: a 28×28 digit
 *   keeps its full resolution into the first stage); the `stemStride` option overrides.
 * - Every later stride-2 step of the paper (a pooling layer or a stage's first block) is taken, in order, while the map
 *   it produces keeps at least 7 px on its short side (the paper's final map at 224 px); after that the steps have
 *   stride 1 (pooling layers with stride 1 are left out).
 * So 224 px gives the papers' 112 → 56 → 28 → 14 → 7, 28 px gives 28 → 14 → 7 (stem stride 2: 14 → 7) and 32 px
 * gives 32 → 16 → 8. A map never ends smaller than 7 px unless the input is.
 */
import type { OptionSpec, OptionValue } from '../../shared/descriptors';
import { XaiLensError } from '../errors';

/** The short side of the final feature map the stride rule keeps (the papers' at 224 px). */
export const MIN_FINAL_MAP = 7;

/** The `stemStride` option of the backbones sized here. */
export const STEM_STRIDE_OPTION: OptionSpec = {
  type: 'enum', default: 'auto', values: ['auto', '1', '2'],
  description: 'stride of the stem convolution (auto: 1 up to 32 px, else 2)',
};

/** The `alpha` option: one width multiplier for every layer, channels rounded to multiples of 8. */
export const WIDTH_OPTION: OptionSpec = {
  type: 'number', default: 1, min: 0.05, max: 4, description: 'width multiplier of every layer (channels rounded to multiples of 8)',
};

/** Tracks the short side of the feature map through a backbone and decides each stride. */
export class StridePlan {
  private side: number;

  constructor(inputShape: readonly [number, number, number]) {
    this.side = Math.min(inputShape[0], inputShape[1]);
  }

  /** The stem's stride from the `stemStride` option ('auto', '1' or '2'), applied to the tracked size. */
  stem(option: OptionValue | undefined): 1 | 2 {
    const stride = option === '1' || option === 1 ? 1 : option === '2' || option === 2 ? 2 : this.side > 32 ? 2 : 1;
    this.side = Math.ceil(this.side / stride);
    return stride;
  }

  /** 2 where one of the paper's stride-2 steps still leaves a map of at least MIN_FINAL_MAP px, else 1. */
  step(): 1 | 2 {
    const next = Math.ceil(this.side / 2);
    if (next < MIN_FINAL_MAP) return 1;
    this.side = next;
    return 2;
  }

  /** The short side of the map so far ('same' padding everywhere: ceil(size / stride)). */
  get mapSide(): number {
    return this.side;
  }
}

/** Rejects input shapes the backbones cannot take, naming the backbone and the shape. */
export function checkInputShape(inputShape: readonly number[], backbone: string): void {
  const [h, w, c] = inputShape;
  if (inputShape.length !== 3 || ![h, w, c].every((d) => Number.isInteger(d) && d > 0) || ![1, 3].includes(c)) {
    throw new XaiLensError(`${backbone}: inputShape must be [h, w, 1|3] with positive sizes, got ${JSON.stringify(inputShape)}`);
  }
}
