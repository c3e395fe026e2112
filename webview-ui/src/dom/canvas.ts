/** Canvas helpers: the only place that turns RGBA buffers (lib/image.ts) into pixels on screen or PNG data URLs. */
import type { Rgba } from '../lib/image';

/** Draws an image at its native resolution (the canvas is resized to it); CSS scales it up pixelated. */
export function drawRgba(canvas: HTMLCanvasElement, img: Rgba): void {
  if (canvas.width !== img.width) canvas.width = img.width;
  if (canvas.height !== img.height) canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
}

/** A PNG data URL of an image (already upscaled by the caller: no smoothing happens here). */
export function rgbaToPngDataUrl(img: Rgba): string {
  const canvas = document.createElement('canvas');
  drawRgba(canvas, img);
  return canvas.toDataURL('image/png');
}
