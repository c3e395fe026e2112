/** Turning a decoded image into what a model expects, following its model card. */
import type { RasterImage } from './image/imageMath';
import { invert, toModelInput } from './image/imageMath';
import type { ModelCard } from './modelCard';

/** Mean of the one-pixel frame of a single-channel image: the background level of a centred object. */
export function borderMean(img: RasterImage): number {
  const { width: w, height: h, channels: c, data } = img;
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y !== 0 && y !== h - 1 && x !== 0 && x !== w - 1) continue;
      for (let k = 0; k < Math.min(c, 3); k++) sum += data[(y * w + x) * c + k];
      n += Math.min(c, 3);
    }
  }
  return n ? sum / n : 0;
}

export interface PreparedImage {
  image: RasterImage;
  /** True when the image was inverted to match a model trained on light-on-dark images (e.g. MNIST). */
  inverted: boolean;
}

/**
 * Resizes and converts channels to the model's input. For a model trained on light strokes on a dark background
 * (MNIST), a dark-on-light image (a digit drawn on white paper) is inverted, since that is what the user means.
 */
export function prepareForModel(img: RasterImage, shape: [number, number, number], card?: Pick<ModelCard, 'preprocessing'>): PreparedImage {
  const input = toModelInput(img, shape);
  if (card?.preprocessing?.background === 'dark' && borderMean(input) > 0.5) return { image: invert(input), inverted: true };
  return { image: input, inverted: false };
}
