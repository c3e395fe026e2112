/**
 * Svelte actions that set sizes through the CSSOM (element.style.x = …). A strict style-src without
 * 'unsafe-inline' blocks style="…" attributes, but not CSSOM property writes, so dynamic sizes go through here.
 */
import type { Action } from 'svelte/action';

/** Sets the element's CSS width to `fraction` (0..1) of its container, as a percentage. */
export const widthFraction: Action<HTMLElement, number> = (node, fraction) => {
  const apply = (f: number) => {
    const clamped = Number.isFinite(f) ? Math.min(Math.max(f, 0), 1) : 0;
    node.style.width = `${(clamped * 100).toFixed(2)}%`;
  };
  apply(fraction);
  return { update: apply };
};

/** Sets the element's CSS size in pixels: [width, height]. */
export const pixelSize: Action<HTMLElement, [number, number]> = (node, size) => {
  const apply = ([w, h]: [number, number]) => {
    node.style.width = `${w}px`;
    node.style.height = `${h}px`;
  };
  apply(size);
  return { update: apply };
};
