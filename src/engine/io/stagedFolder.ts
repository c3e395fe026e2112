/**
 * An output folder that is replaced only when the new content is complete. When the target already holds a model
 * (model.json), the run writes into a hidden sibling folder and `commit()` swaps it in (two renames, the old one is
 * deleted after); `abandon()` removes it, leaving the old model untouched. A target without a model is written in
 * place: its own files are replaced atomically one by one (atomicFs.ts, modelFolder.ts).
 */
import { promises as fs, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MODEL_JSON } from './modelFolder';

export interface StagedFolder {
  /** Where to write now. */
  dir: string;
  /** The folder the content ends up in. */
  target: string;
  /** True when `dir` is a staging folder beside a good model. */
  staged: boolean;
  /** Moves a complete staging folder into place (no-op when not staged, or when nothing complete was written). */
  commit(): Promise<void>;
  /** Deletes the staging folder (no-op when not staged). */
  abandon(): Promise<void>;
}

export function stageFolder(target: string): StagedFolder {
  if (!existsSync(join(target, MODEL_JSON))) {
    return { dir: target, target, staged: false, commit: async () => {}, abandon: async () => {} };
  }
  const tag = randomBytes(4).toString('hex');
  const dir = join(dirname(target), `.${basename(target)}.staging-${tag}`);
  return {
    dir, target, staged: true,
    async commit() {
      if (!existsSync(join(dir, MODEL_JSON))) return this.abandon();
      const old = join(dirname(target), `.${basename(target)}.old-${tag}`);
      await fs.rename(target, old);
      await fs.rename(dir, target);
      await fs.rm(old, { recursive: true, force: true });
    },
    async abandon() {
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
