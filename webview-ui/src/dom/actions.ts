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

/** Sets the element's CSS size in pixels: [width, height]; undefined leaves the size to the stylesheet. */
export const pixelSize: Action<HTMLElement, [number, number] | undefined> = (node, size) => {
  const apply = (s: [number, number] | undefined) => {
    node.style.width = s ? `${s[0]}px` : '';
    node.style.height = s ? `${s[1]}px` : '';
  };
  apply(size);
  return { update: apply };
};
