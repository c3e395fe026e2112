/**
 * The parts of package.json generated from the engine's registries: the `xaiLens.methods`, `xaiLens.counterfactual`
 * and `xaiLens.backend` settings and one setting per option an explainer marks `setting` (`xaiLens.explainer.<id>.<option>`).
 * The `xaiLens` task definition's `model` and `attention` enums come from the zoo.
 * `npm run manifest` writes them; test/unit/descriptors.test.ts fails while package.json differs from them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OptionSpec } from '../src/shared/descriptors';
import { BACKEND_CHOICES } from '../src/shared/protocol';
import { EXPLAINERS } from '../src/engine/explain/registry';
import { COUNTERFACTUALS, NO_COUNTERFACTUAL } from '../src/engine/explain/counterfactuals/registry';
import { ARCHITECTURES, ATTENTIONS } from '../src/engine/models/zoo';

type Json = Record<string, unknown>;

/** The JSON-schema form of an option, as VS Code settings take it. */
function settingSchema(spec: OptionSpec): Json {
  switch (spec.type) {
    case 'integer':
    case 'number':
      return { type: spec.type, default: spec.default, ...(spec.min !== undefined ? { minimum: spec.min } : {}), ...(spec.max !== undefined ? { maximum: spec.max } : {}), description: capitalise(spec.description) };
    case 'enum':
      return { type: 'string', enum: spec.values, default: spec.default, description: capitalise(spec.description) };
    case 'boolean':
      return { type: 'boolean', default: spec.default, description: capitalise(spec.description) };
    case 'string':
      return { type: 'string', default: spec.default, description: capitalise(spec.description) };
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.');
}

export const EXPLAINER_SETTING = /^xaiLens\.explainer\.([^.]+)\.([^.]+)$/;

/** The generated settings, in order. */
export function generatedSettings(): Json {
  const ids = EXPLAINERS.map((e) => e.id);
  const settings: Json = {
    'xaiLens.backend': {
      type: 'string',
      enum: BACKEND_CHOICES,
      default: 'auto',
      markdownDescription: 'TensorFlow.js backend of the engine process. `auto`: CUDA TensorFlow, then CPU TensorFlow (when `@tensorflow/tfjs-node(-gpu)` is installed), then wasm. `cpu` is about 1000× slower.',
    },
    'xaiLens.methods': {
      type: 'array',
      items: { type: 'string', enum: ids, enumDescriptions: EXPLAINERS.map((e) => e.description) },
      default: ids,
      uniqueItems: true,
      description: 'Attribution methods to run for each explanation.',
    },
  };
  for (const e of EXPLAINERS) {
    for (const [key, spec] of Object.entries(e.options)) if (spec.setting) settings[`xaiLens.explainer.${e.id}.${key}`] = settingSchema(spec);
  }
  settings['xaiLens.counterfactual'] = {
    type: 'string',
    enum: [...COUNTERFACTUALS.map((c) => c.id), NO_COUNTERFACTUAL],
    default: COUNTERFACTUALS[0].id,
    enumDescriptions: [...COUNTERFACTUALS.map((c) => c.description), 'No counterfactual'],
    enumItemLabels: [...COUNTERFACTUALS.map((c) => c.label), 'None'],
    description: 'How the minimal class-changing edit is searched.',
  };
  return settings;
}

const GENERATED = (key: string) => EXPLAINER_SETTING.test(key) || ['xaiLens.backend', 'xaiLens.methods', 'xaiLens.counterfactual'].includes(key);

/** The xaiLens task definition with its zoo enums regenerated. */
function withZooEnums(def: Json): Json {
  if (def.type !== 'xaiLens') return def;
  const props = def.properties as Record<string, Json>;
  return {
    ...def,
    properties: {
      ...props,
      model: { ...props.model, enum: ARCHITECTURES.map((a) => a.id) },
      attention: { ...props.attention, enum: ['none', ...ATTENTIONS.map((a) => a.id)] },
    },
  };
}

/** package.json with its generated parts replaced: hand-written settings first, in their order, then the generated. */
export function withGeneratedSettings(pkg: Json): Json {
  const contributes = pkg.contributes as Json;
  const configuration = contributes.configuration as Json;
  const properties = configuration.properties as Json;
  const kept = Object.fromEntries(Object.entries(properties).filter(([k]) => !GENERATED(k)));
  return {
    ...pkg,
    contributes: {
      ...contributes,
      configuration: { ...configuration, properties: { ...kept, ...generatedSettings() } },
      ...(contributes.taskDefinitions ? { taskDefinitions: (contributes.taskDefinitions as Json[]).map(withZooEnums) } : {}),
    },
  };
}

export function manifestPath(root = process.cwd()): string {
  return join(root, 'package.json');
}

if (require.main === module) {
  const path = manifestPath();
  const pkg = JSON.parse(readFileSync(path, 'utf8')) as Json;
  writeFileSync(path, `${JSON.stringify(withGeneratedSettings(pkg), null, 2)}\n`);
  console.log(`${path}: generated settings written`);
}
