/**
 * `xai-lens`: train, evaluate, predict and inspect models from the command line. Argument parsing uses Node's own
 * util.parseArgs (strict: unknown flags are errors). Every user-facing failure is one line naming the file and the
 * problem, and a non-zero exit; a stack trace means a bug.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError, XaiLensError } from './errors';
import { processIo, type Io } from './cli/common';
import { predictCommand } from './cli/predict';
import { evaluateCommand } from './cli/evaluate';
import { infoCommand } from './cli/info';
import { trainCommand } from './cli/train';
import { explainCommand, layersCommand } from './cli/explain';
import { FINETUNE_USAGE, finetuneCommand } from './cli/finetune';
import { MISTAKES_USAGE, mistakesCommand } from './cli/mistakes';
import { schemaFlags } from './cli/flags';
import { ARCHITECTURES, ATTENTIONS } from './models/zoo';
import { EXPLAINERS } from './explain/registry';
import { COUNTERFACTUALS, NO_COUNTERFACTUAL } from './explain/counterfactuals/registry';
import { COLORMAPS } from './image/render';
import { describeCommand } from './cli/describe';
import { optionUsage, type OptionSchema } from '../shared/descriptors';
import { BACKEND_CHOICES } from '../shared/protocol';
import { explainFolderCommand } from './cli/explainFolder';

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

const modelOpt = { model: { type: 'string' as const }, 'allow-large-model': { type: 'boolean' as const } };
const backendOpt = { backend: { type: 'string' as const } };
const jsonOpt = { json: { type: 'boolean' as const } };

const COMMANDS: Record<string, Command> = {
  train: {
    summary: 'train a model from scratch (or --resume a run)',
    usage: `train --model <${ARCHITECTURES.map((a) => a.id).join('|')}> --data <mnist|fashion-mnist[:dir]|folder> [--epochs N] [--out dir] [--backend b] [--batch-size N] [--lr x] [--seed N] [--val-fraction x] [--limit N] [--no-augment] [--schedule plateau|one-cycle] [--threads 1|2|auto] [--resume] [--preset default] [architecture options: ${uniqueOptionUsage()}]`,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, epochs: { type: 'string' }, out: { type: 'string' },
      'batch-size': { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, ...schemaFlags(ARCHITECTURES.map((a) => a.options)),
      'val-fraction': { type: 'string' }, limit: { type: 'string' }, augment: { type: 'boolean' }, 'no-augment': { type: 'boolean' },
      schedule: { type: 'string' }, threads: { type: 'string' }, resume: { type: 'boolean' }, preset: { type: 'string' }, ...backendOpt, ...jsonOpt,
    },
    run: trainCommand,
  },
  evaluate: {
    summary: 'accuracy, loss, per-class accuracy and confusion matrix on a dataset',
    usage: 'evaluate [--model <file|dir|default>] [--allow-large-model] --data <mnist|fashion-mnist[:dir]|folder> [--split test|train] [--limit N] [--backend b] [--json]',
    options: { ...modelOpt, data: { type: 'string' }, split: { type: 'string' }, limit: { type: 'string' }, ...backendOpt, ...jsonOpt },
    run: evaluateCommand,
  },
  predict: {
    summary: 'top-5 classes for images (PNG or JPEG; a folder stands for every one under it)',
    usage: 'predict [--model <file|dir|default>] [--allow-large-model] [--backend b] [--json] <images or folders...>',
    options: { ...modelOpt, ...backendOpt, ...jsonOpt },
    run: predictCommand,
  },
  explain: {
    summary: 'attribution maps, faithfulness metrics and a counterfactual for one image',
    usage: `explain <image> [--model <file|dir|default>] [--allow-large-model] [--methods ${EXPLAINERS.map((e) => e.id).join(',')}|all] [--class k] [--layer name] [--counterfactual ${[...COUNTERFACTUALS.map((c) => c.id), NO_COUNTERFACTUAL].join('|')}] [--counterfactual-class k|any] [--colormap ${COLORMAPS.join('|')}] [--opacity x] [--out dir] [--backend b] [--json]`,
    options: {
      ...modelOpt, methods: { type: 'string' }, class: { type: 'string' }, layer: { type: 'string' }, counterfactual: { type: 'string' },
      'counterfactual-class': { type: 'string' }, colormap: { type: 'string' }, opacity: { type: 'string' }, out: { type: 'string' }, ...backendOpt, ...jsonOpt,
    },
    run: explainCommand,
  },
  'explain-folder': {
    summary: 'prediction, confidence and Grad-CAM for every image under a folder, printed as each finishes',
    usage: 'explain-folder <dir> [--model <dir|default>] [--layer name] [--limit N] [--backend b] [--json]',
    options: { ...modelOpt, layer: { type: 'string' }, limit: { type: 'string' }, ...backendOpt, ...jsonOpt },
    run: explainFolderCommand,
  },
  layers: {
    summary: 'list the 4-D layers a CAM method can use (--layer)',
    usage: 'layers [--model <file|dir|default>] [--allow-large-model] [--json]',
    options: { ...modelOpt, ...backendOpt, ...jsonOpt },
    run: layersCommand,
  },
  describe: {
    summary: 'list the explainers, counterfactual methods, backbones, attention kinds and architectures with their options',
    usage: 'describe [--json]',
    options: { ...jsonOpt },
    run: describeCommand,
  },
  info: {
    summary: 'print the model card (any format: TF.js, .keras, .h5, .onnx)',
    usage: 'info [--model <file|dir|default>] [--allow-large-model]',
    options: { ...modelOpt, ...jsonOpt },
    run: infoCommand,
  },
  finetune: {
    summary: 'a trained model with a new head for new classes, trained head first, then whole',
    usage: `${FINETUNE_USAGE} [attention options: ${optionUsage(Object.assign({}, ...ATTENTIONS.map((a) => a.options)) as OptionSchema)}]`,
    options: {
      from: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, epochs: { type: 'string' }, 'head-epochs': { type: 'string' },
      lr: { type: 'string' }, freeze: { type: 'string' }, attention: { type: 'string' }, 'input-size': { type: 'string' }, 'batch-size': { type: 'string' },
      seed: { type: 'string' }, 'val-fraction': { type: 'string' }, limit: { type: 'string' }, augment: { type: 'boolean' }, 'no-augment': { type: 'boolean' }, threads: { type: 'string' },
      ...schemaFlags(ATTENTIONS.map((a) => a.options)), ...backendOpt, ...jsonOpt,
    },
    run: finetuneCommand,
  },
  mistakes: {
    summary: 'misclassified images, most confident first, with Grad-CAM thumbnails (and counterfactuals toward the true class)',
    usage: MISTAKES_USAGE,
    options: {
      ...modelOpt, data: { type: 'string' }, split: { type: 'string' }, limit: { type: 'string' }, 'max-images': { type: 'string' },
      counterfactual: { type: 'string' }, counterfactuals: { type: 'string' }, ...backendOpt, ...jsonOpt,
    },
    run: mistakesCommand,
  },
};

/** Every architecture option once, e.g. "[--alpha x] [--stem-stride auto|1|2] [--reduction N] …". */
function uniqueOptionUsage(): string {
  const merged: Record<string, OptionSchema[string]> = {};
  for (const a of ARCHITECTURES) Object.assign(merged, a.options);
  return optionUsage(merged);
}

function help(): string {
  const lines = ['usage: xai-lens <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(9)} ${c.summary}`, `            xai-lens ${c.usage}`);
  lines.push('', `backends (--backend): ${BACKEND_CHOICES.join(', ')} (default auto)`);
  return lines.join('\n');
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new XaiLensError(`unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')}`);
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    } catch (e) {
      throw new XaiLensError(`${(e as Error).message.split('\n')[0]} (usage: xai-lens ${command.usage})`);
    }
    if (parsed.values.help) {
      io.out(`xai-lens ${command.usage}`);
      return 0;
    }
    return await command.run(parsed.values as Values, parsed.positionals, io);
  } catch (e) {
    io.err(`xai-lens: ${describeError(e)}`);
    if (!(e instanceof XaiLensError) && process.env.XAI_LENS_DEBUG) io.err(String((e as Error).stack));
    return 2;
  }
}

export function runFromCommandLine(): void {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runFromCommandLine();
