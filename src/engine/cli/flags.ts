/** Typed reading of CLI flag values, with errors that name the flag and the bad value. */
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
