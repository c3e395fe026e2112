/** Pure logic of the attention section: the channel-gate bar chart's geometry and the words around it. */
import type { AttentionPayload } from '../../../src/shared/protocol';
import { formatNumber } from './format';

export type GateOrder = 'channel' | 'value';

export interface GateBar {
  channel: number;
  value: number;
  /** Left edge in bar units (one unit per channel). */
  x: number;
  /** Height in percent of the chart (gates lie in (0, 1)). */
  height: number;
}

/** One bar per channel, in channel order or strongest first (ties keep channel order). */
export function gateBars(values: readonly number[], order: GateOrder): GateBar[] {
  const idx = values.map((_, i) => i);
  if (order === 'value') idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.map((channel, x) => ({ channel, value: values[channel], x, height: Math.max(0, Math.min(1, values[channel])) * 100 }));
}

/** "Strongest channels: 12 (0.981), 3 (0.95), …; mean gate 0.512 over 256 channels" (for screen readers and the caption). */
export function gateSummary(values: readonly number[], k = 5): string {
  if (!values.length) return 'no channel gate';
  const top = gateBars(values, 'value').slice(0, k).map((b) => `${b.channel} (${formatNumber(b.value)})`);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `Strongest channels: ${top.join(', ')}; mean gate ${formatNumber(mean)} over ${values.length} channels`;
}

const KIND_WORDS: Record<string, string> = {
  'spatial-gate': 'spatial gate',
  'context-mask': 'global-context mask',
  'position-attention': 'position attention',
  'channel-gate': 'channel-gated activations (SE has no spatial attention)',
};

/** What the attention map shows, in one line. */
export function describeAttention(a: AttentionPayload): string {
  const what = KIND_WORDS[a.kind] ?? a.kind;
  const query = a.query ? ` of position (row ${a.query[0]}, column ${a.query[1]}), the Grad-CAM peak` : '';
  return `${a.className} ${what}${query} at layer ${a.layer}.`;
}
