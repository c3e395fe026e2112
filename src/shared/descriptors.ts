/**
 * The shape every extension point declares itself in (explainers, counterfactual methods, backbones, attention kinds,
 * panels): an id, a label, a one-line description and an option schema with defaults and ranges. The engine's
 * registries hold one such descriptor per entry; the engine process sends them to the extension (`engine/describe`),
 * and the manifest, the CLI usage and the pickers are generated from them or checked against them. Imports nothing.
 */

interface OptionCommon {
  description: string;
  /** Offered as a VS Code setting (`xaiLens.<kind>.<id>.<option>`, generated into package.json). */
  setting?: boolean;
}

export type OptionSpec = OptionCommon & (
  | { type: 'integer' | 'number'; default: number; min?: number; max?: number }
  | { type: 'enum'; default: string; values: readonly string[] }
  /** Free text, e.g. a layer name; '' usually means "chosen automatically". */
  | { type: 'string'; default: string }
  | { type: 'boolean'; default: boolean }
);

export type OptionSchema = Readonly<Record<string, OptionSpec>>;
export type OptionValue = number | string | boolean;
export type OptionValues = Record<string, OptionValue>;

export interface Descriptor {
  id: string;
  label: string;
  description: string;
  options: OptionSchema;
}

export function optionDefaults(schema: OptionSchema): OptionValues {
  return Object.fromEntries(Object.entries(schema).map(([k, s]) => [k, s.default]));
}

/** Why `value` does not fit `spec` (undefined when it does). Strings are accepted for numbers, as a CLI passes them. */
export function optionProblem(spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const v = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      const ok = typeof v === 'number' && Number.isFinite(v) && (spec.type === 'number' || Number.isInteger(v)) &&
        (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max);
      if (ok) return undefined;
      const bounds = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.max !== undefined ? `<= ${spec.max}` : ''].filter(Boolean).join(' and ');
      return `must be ${spec.type === 'integer' ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}`;
    }
    case 'enum':
      return spec.values.includes(String(value)) ? undefined : `must be one of ${spec.values.join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false' ? undefined : 'must be true or false';
    case 'string':
      return typeof value === 'string' ? undefined : 'must be text';
  }
}

/** `value` in the option's own type (after optionProblem said it fits). */
export function coerceOption(spec: OptionSpec, value: unknown): OptionValue {
  if (spec.type === 'enum' || spec.type === 'string') return String(value);
  if (spec.type === 'boolean') return value === true || value === 'true';
  return Number(value);
}

/** camelCase option key → the kebab-case name of its CLI flag (`stemStride` → `stem-stride`). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** "[--alpha x] [--stem-stride auto|1|2]" for a usage line. */
export function optionUsage(schema: OptionSchema): string {
  return Object.entries(schema)
    .map(([k, s]) => `[--${flagName(k)} ${s.type === 'enum' ? s.values.join('|') : s.type === 'boolean' ? 'true|false' : s.type === 'integer' ? 'N' : s.type === 'string' ? 'text' : 'x'}]`)
    .join(' ');
}
