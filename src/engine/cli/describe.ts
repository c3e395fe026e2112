/** `xai-lens describe`: what the engine offers, from its registries (the same answer as the `engine/describe` request). */
import type { Descriptor } from '../../shared/descriptors';
import { describeEngine } from '../describe';
import type { Io } from './common';

type Values = Record<string, string | boolean | undefined>;

function lines(title: string, list: Descriptor[]): string[] {
  const out = ['', `${title}:`];
  for (const d of list) {
    out.push(`  ${d.id.padEnd(20)} ${d.description}`);
    for (const [key, o] of Object.entries(d.options)) {
      const range = o.type === 'enum' ? o.values.join('|') : o.type === 'boolean' ? 'true|false' : o.type === 'string' ? 'text' : `${o.min ?? '-∞'}..${o.max ?? '∞'}`;
      out.push(`      ${key.padEnd(20)} ${String(o.default).padEnd(8)} ${range.padEnd(14)} ${o.description}`);
    }
  }
  return out;
}

export async function describeCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const d = describeEngine();
  if (values.json) {
    io.out(JSON.stringify(d));
    return 0;
  }
  io.out([
    ...lines('explainers (--methods)', d.explainers),
    ...lines('counterfactual methods (--counterfactual)', d.counterfactuals),
    ...lines('backbones', d.backbones),
    ...lines('attention kinds', d.attentions),
    '', `architectures (train --model): ${d.architectures.map((a) => a.id).join(', ')}`,
  ].join('\n').trimStart());
  return 0;
}
