/** Svelte actions that set style through the CSSOM (allowed under the CSP; style="" attributes are not). */
import type { Action } from 'svelte/action';

/** Element opacity (0..1), e.g. a confusion cell's tint. */
export const opacity: Action<HTMLElement, number> = (node, value) => {
  const set = (v: number) => (node.style.opacity = String(Math.min(1, Math.max(0, v)) * 0.85));
  set(value ?? 0);
  return { update: (v: number) => set(v) };
};
