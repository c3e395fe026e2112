/** Typed reading of CLI flag values, with errors that name the flag and the bad value. */
import { flagName, type OptionSchema } from '../../shared/descriptors';
import { XaiLensError } from '../errors';

type Values = Record<string, string | boolean | undefined>;

export function numberFlag(values: Values, name: string, fallback: number, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const bad =
    typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) ||
    (opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max);
  if (bad) {
    const range = [opts.integer ? 'an integer' : 'a number', opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : '']
      .filter(Boolean)
      .join(' ');
    throw new XaiLensError(`--${name} must be ${range}, got "${String(raw)}"`);
  }
  return v;
}

export function stringFlag(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireFlag(values: Values, name: string, usage: string): string {
  const v = stringFlag(values, name);
  if (!v) throw new XaiLensError(`--${name} is required (usage: xai-lens ${usage})`);
  return v;
}

/** parseArgs options for every key of the given schemas, as `--kebab-case` string flags. */
export function schemaFlags(schemas: Iterable<OptionSchema>): Record<string, { type: 'string' }> {
  const flags: Record<string, { type: 'string' }> = {};
  for (const schema of schemas) for (const key of Object.keys(schema)) flags[flagName(key)] = { type: 'string' };
  return flags;
}

/**
 * The values of `schema`'s flags that were given (validated later by resolveOptions). A flag of another schema in
 * `all` that does not apply to this one is an error naming `what`.
 */
export function optionsFromFlags(values: Values, schema: OptionSchema, all: Iterable<OptionSchema>, what: string): Record<string, string> {
  const given: Record<string, string> = {};
  for (const other of all) {
    for (const key of Object.keys(other)) {
      const raw = values[flagName(key)];
      if (typeof raw !== 'string') continue;
      if (!(key in schema)) throw new XaiLensError(`--${flagName(key)} does not apply to ${what}`);
      given[key] = raw;
    }
  }
  return given;
}
