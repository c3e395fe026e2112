/** The panel's controls. Import them from here only; what implements them is this folder's business. */
export { default as Button } from './Button.svelte';
export { default as Select } from './Select.svelte';
export { default as Slider } from './Slider.svelte';
export { default as ProgressBar } from './ProgressBar.svelte';
export { default as ProgressRing } from './ProgressRing.svelte';
export { default as Divider } from './Divider.svelte';
export type { SelectOption } from './types';
