/** Every extension point's descriptors in one answer (`engine/describe`, `xai-lens describe`), from their registries. */
import type { EngineDescription } from '../shared/protocol';
import { EXPLAINERS } from './explain/registry';
import { COUNTERFACTUALS } from './explain/counterfactuals/registry';
import { ARCHITECTURES, ATTENTIONS, BACKBONES } from './models/zoo';

export function describeEngine(): EngineDescription {
  const plain = ({ id, label, description, options }: EngineDescription['backbones'][number]) => ({ id, label, description, options });
  return {
    explainers: EXPLAINERS.map((e) => ({ ...plain(e), capabilities: e.capabilities })),
    counterfactuals: COUNTERFACTUALS.map((c) => ({ ...plain(c), usesGradients: c.usesGradients })),
    backbones: BACKBONES.map(plain),
    attentions: ATTENTIONS.map(plain),
    architectures: ARCHITECTURES.map((a) => ({ ...plain(a), backbone: a.backbone.id, attention: a.attention?.id })),
  };
}
