/**
 * Finished explanations kept by image + model + settings, so going back to an image shows it at once. The key
 * includes the file's size and modification time: an edited image is explained again. Least recently used entries
 * go first. Does not import `vscode` (unit-tested in Node).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ExplainParams, ExplainResultPayload } from '../shared/protocol';

export type ExplainRequest = Omit<ExplainParams, 'progressToken'>;

export function resultKey(p: ExplainRequest): string {
  let stamp = 'missing';
  try {
    const st = statSync(p.imagePath);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    // An unreadable file is not cached under a stale stamp; the engine reports the problem.
  }
  const { imagePath, modelDir, methods, target, layer, counterfactual, counterfactualTarget, methodOptions } = p;
  return JSON.stringify([resolve(imagePath), stamp, resolve(modelDir), [...methods].sort(), target ?? null, layer ?? null, counterfactual, counterfactualTarget ?? null, methodOptions ?? null]);
}

export class ResultCache {
  private readonly entries = new Map<string, ExplainResultPayload>();

  constructor(private readonly capacity = 32) {}

  get(p: ExplainRequest): ExplainResultPayload | undefined {
    const key = resultKey(p);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(p: ExplainRequest, result: ExplainResultPayload): void {
    const key = resultKey(p);
    this.entries.delete(key);
    this.entries.set(key, result);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every result of one model (its settings changed). */
  dropModel(modelDir: string): void {
    const dir = resolve(modelDir);
    for (const key of [...this.entries.keys()]) if ((JSON.parse(key) as unknown[])[2] === dir) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
