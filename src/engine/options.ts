/** Option values checked against an extension point's schema (src/shared/descriptors.ts), with one-line errors. */
import { coerceOption, flagName, optionDefaults, optionProblem, type OptionSchema, type OptionValues } from '../shared/descriptors';
import { XaiLensError } from './errors';

/**
 * The schema's defaults overridden by `given`. Unknown keys and values out of range are errors naming `where`, the
 * option (as its CLI flag) and the bad value; undefined values keep the default.
 */
export function resolveOptions(schema: OptionSchema, given: Record<string, unknown> | undefined, where: string): OptionValues {
  const values = optionDefaults(schema);
  for (const [key, value] of Object.entries(given ?? {})) {
    if (value === undefined) continue;
    const spec = schema[key];
    if (!spec) {
      const known = Object.keys(schema).map(flagName).join(', ') || 'none';
      throw new XaiLensError(`${where}: unknown option --${flagName(key)} (options: ${known})`);
    }
    const problem = optionProblem(spec, value);
    if (problem) throw new XaiLensError(`${where}: --${flagName(key)} ${problem}, got ${JSON.stringify(value)}`);
    values[key] = coerceOption(spec, value);
  }
  return values;
}
