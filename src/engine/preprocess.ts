/** Turning a decoded image into what a model expects, following its model card or imported model's details. */
import type { RasterImage } from './image/imageMath';
import { compositeAlpha, hasTransparency, invert, resizeAuto, toChannels, toModelInput } from './image/imageMath';

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
  /** What was done to the image beyond resizing, one line each (alpha compositing, channel conversion). */
  notes: string[];
  /**
   * The same image at its own resolution (longer side at most DISPLAY_MAX_SIDE), for drawing overlays on; absent when
   * that is the model input's size.
   */
  display?: RasterImage;
}

/** Overlays are drawn on the image at its own resolution up to this many pixels per side (it travels to the panel). */
export const DISPLAY_MAX_SIDE = 768;

function displayImage(src: RasterImage, channels: 1 | 3, inverted: boolean): RasterImage {
  const longer = Math.max(src.width, src.height);
  const scale = Math.min(1, DISPLAY_MAX_SIDE / longer);
  const sized = scale < 1 ? resizeAuto(src, Math.max(1, Math.round(src.height * scale)), Math.max(1, Math.round(src.width * scale))) : src;
  const shown = toChannels(sized, channels);
  return inverted ? invert(shown) : shown;
}

export interface AlphaBackground {
  rgb: readonly [number, number, number];
  reason: string;
}

const CHANNEL_NAMES: Record<number, string> = { 1: 'gray', 3: 'RGB', 4: 'RGBA' };

function colourName(rgb: readonly [number, number, number]): string {
  const hex = rgb.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, '0')).join('');
  return `#${hex}`;
}

/**
 * Resizes and converts channels to the model's input. Transparent pixels are composited onto `alpha` (the colour the
 * model's preprocessing reads as background; black when none is given), and a channel conversion is reported. For
 * a model trained on light strokes on a dark background (MNIST), a dark-on-light image (a digit drawn on white paper)
 * is inverted, since that is what the user means.
 */
export function prepareForModel(
  img: RasterImage,
  shape: [number, number, number],
  card?: { preprocessing?: { background?: string } },
  alpha?: AlphaBackground,
  /** Also keep the image at its own resolution (`display`): explanations draw on it; predictions need not pay. */
  withDisplay = false,
): PreparedImage {
  const notes: string[] = [];
  let src = img;
  if (img.channels === 4 && shape[2] !== 4) {
    const bg = alpha?.rgb ?? [0, 0, 0];
    if (hasTransparency(img)) notes.push(`transparent pixels composited onto ${colourName(bg)}${alpha ? ` (${alpha.reason})` : ''}`);
    src = compositeAlpha(img, bg);
  }
  if (src.channels !== shape[2] && !(src.channels === 4 && shape[2] === 3)) {
    notes.push(`${CHANNEL_NAMES[src.channels] ?? `${src.channels}-channel`} image converted to ${CHANNEL_NAMES[shape[2]] ?? `${shape[2]} channels`} (the model takes ${shape[2]} channel${shape[2] === 1 ? '' : 's'})`);
  }
  const input = toModelInput(src, shape);
  const ownSize = withDisplay && (src.width !== shape[1] || src.height !== shape[0]);
  const shownChannels = shape[2] === 1 ? 1 : 3;
  if (card?.preprocessing?.background === 'dark' && borderMean(input) > 0.5) {
    return {
      image: invert(input), inverted: true, notes: [...notes, 'inverted: the model reads light strokes on a dark background'],
      ...(ownSize ? { display: displayImage(src, shownChannels, true) } : {}),
    };
  }
  return { image: input, inverted: false, notes, ...(ownSize ? { display: displayImage(src, shownChannels, false) } : {}) };
}
