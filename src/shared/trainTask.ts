/**
 * The `xaiLens` task type (package.json `contributes.taskDefinitions`): what a `tasks.json` entry or the palette's
 * Fine-tune/Train commands describe, and how it becomes an `xai-lens train|finetune … --json` command line. Validated
 * here so a bad tasks.json entry gives one line naming the field. Imports nothing.
 */

export const TASK_TYPE = 'xaiLens';

export type TrainTaskCommand = 'train' | 'finetune';

export interface TrainTaskDefinition {
  type: typeof TASK_TYPE;
  command: TrainTaskCommand;
  /** Dataset: a folder with one subfolder per class, `mnist`, `fashion-mnist`, … (relative to the workspace folder). */
  data: string;
  /** train: the zoo architecture to build. */
  model?: string;
  /** finetune: the base model, `default` (the bundled one) or a model folder. */
  from?: string;
  epochs?: number;
  lr?: number;
  /** Augmentation while training (`--augment` / `--no-augment`). Default: on for train, off for finetune. */
  augment?: boolean;
  /** Run folder; default `xai-lens-runs/<model>-<data>-<time>`. */
  out?: string;
  /** Train on the first N images only (quick tries, tests). */
  limit?: number;
  batchSize?: number;
  /** finetune: attention inserted before the new head. */
  attention?: string;
  /** finetune: none, backbone or stage names. */
  freeze?: string;
}

export const TASK_FIELDS: Record<string, 'string' | 'number' | 'integer' | 'boolean'> = {
  type: 'string', command: 'string', data: 'string', model: 'string', from: 'string', epochs: 'integer', lr: 'number',
  augment: 'boolean', out: 'string', limit: 'integer', batchSize: 'integer', attention: 'string', freeze: 'string',
};

/** Why `def` is not a usable task (undefined when it is): one line naming the field. */
export function taskProblem(def: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(def)) {
    const kind = TASK_FIELDS[k];
    if (!kind) continue; // VS Code adds its own fields (e.g. problemMatcher, label) next to ours
    if (v === undefined) continue;
    const ok = kind === 'string' ? typeof v === 'string' && v.trim() !== ''
      : kind === 'boolean' ? typeof v === 'boolean'
      : typeof v === 'number' && Number.isFinite(v) && (kind === 'number' || Number.isInteger(v)) && v > 0;
    if (!ok) return `"${k}" must be ${kind === 'string' ? 'a non-empty string' : kind === 'boolean' ? 'true or false' : `a positive ${kind}`}, got ${JSON.stringify(v)}`;
  }
  if (def.command !== 'train' && def.command !== 'finetune') return `"command" must be "train" or "finetune", got ${JSON.stringify(def.command)}`;
  if (typeof def.data !== 'string') return '"data" is missing (a dataset folder, mnist or fashion-mnist)';
  if (def.command === 'train' && typeof def.model !== 'string') return '"model" is missing (a zoo architecture, e.g. cbam-mobilenetv2)';
  if (def.command === 'train' && (def.from !== undefined || def.attention !== undefined || def.freeze !== undefined)) {
    return '"from", "attention" and "freeze" apply to "finetune" only';
  }
  if (def.command === 'finetune' && def.model !== undefined) return '"model" applies to "train" only; "finetune" starts "from" a model';
  return undefined;
}

function slug(s: string): string {
  return s.replace(/[\\/]+$/, '').split(/[\\/]/).pop()!.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'data';
}

/** The default run folder, relative to the workspace folder. `now` makes it unique per run. */
export function defaultRunFolder(def: TrainTaskDefinition, now: Date): string {
  const what = def.command === 'train' ? def.model! : `finetune-${def.from && def.from !== 'default' ? slug(def.from) : 'default'}`;
  return `xai-lens-runs/${what}-${slug(def.data)}-${now.toISOString().slice(0, 19).replace(/[:T]/g, '-')}`;
}

/** The CLI arguments (after the script) for a valid definition whose `out` is set. */
export function taskCliArgs(def: TrainTaskDefinition & { out: string }): string[] {
  const args: string[] = [def.command];
  if (def.command === 'train') args.push('--model', def.model!);
  else args.push('--from', def.from ?? 'default');
  args.push('--data', def.data);
  if (def.epochs !== undefined) args.push('--epochs', String(def.epochs));
  if (def.lr !== undefined) args.push('--lr', String(def.lr));
  if (def.batchSize !== undefined) args.push('--batch-size', String(def.batchSize));
  if (def.limit !== undefined) args.push('--limit', String(def.limit));
  if (def.attention !== undefined) args.push('--attention', def.attention);
  if (def.freeze !== undefined) args.push('--freeze', def.freeze);
  if (def.augment !== undefined) args.push(def.augment ? '--augment' : '--no-augment');
  args.push('--out', def.out, '--json');
  return args;
}

/** The task's name in the Run Task list and the terminal tab. */
export function taskLabel(def: TrainTaskDefinition): string {
  const what = def.command === 'train' ? `train ${def.model}` : `fine-tune ${def.from && def.from !== 'default' ? slug(def.from) : 'default model'}`;
  return `${what} on ${slug(def.data)}${def.epochs ? `, ${def.epochs} epoch${def.epochs === 1 ? '' : 's'}` : ''}`;
}
