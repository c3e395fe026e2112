/** `xai-lens mistakes`: the misclassified images of a dataset, most confident first, with Grad-CAM thumbnails. */
import { labelsByModelClasses, loadEvaluationSet, subset } from '../data/datasets';
import { findMistakes } from '../mistakes';
import { XaiLensError } from '../errors';
import { COUNTERFACTUALS, getCounterfactualMethod } from '../explain/counterfactuals/registry';
import { loadModelFolder, startBackend, type Io } from './common';
import { numberFlag, requireFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

export const MISTAKES_USAGE =
  'mistakes [--model <dir|default>] --data <folder|mnist|fashion-mnist[:dir]|idx folder> [--split test|train] [--limit N] [--max-images N] ' +
  `[--counterfactual ${COUNTERFACTUALS.map((c) => c.id).join('|')}] [--counterfactuals N] [--backend b] [--json]`;

export async function mistakesCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const spec = requireFlag(values, 'data', MISTAKES_USAGE);
  const split = stringFlag(values, 'split');
  if (split !== undefined && split !== 'test' && split !== 'train') throw new XaiLensError(`--split must be "test" or "train", got "${split}"`);
  const limit = numberFlag(values, 'limit', 50, { integer: true, min: 1 });
  const cfFlag = stringFlag(values, 'counterfactual');
  if (cfFlag !== undefined) getCounterfactualMethod(cfFlag); // an unknown method fails before any work
  const counterfactuals = numberFlag(values, 'counterfactuals', 1, { integer: true, min: 0 });
  await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'));
  let { ds } = await loadEvaluationSet(spec, split, loaded.inputShape, { onWarning: (m) => io.err(m), onNote: (m) => io.err(m) });
  const maxImages = numberFlag(values, 'max-images', ds.count, { integer: true, min: 1 });
  if (maxImages < ds.count) ds = subset(ds, Array.from({ length: maxImages }, (_, i) => i));
  ds = labelsByModelClasses(ds, loaded.imported.classNames);
  const names = loaded.card?.classNames ?? ds.classNames;
  const report = await findMistakes(loaded.model, ds, {
    limit, counterfactual: cfFlag, counterfactuals, seed: 1,
    onMistake: values.json ? undefined : (m, done, total) => io.err(`${done}/${total}`),
  });
  if (values.json) {
    io.out(JSON.stringify({ model: loaded.dir, data: spec, ...report, classNames: names }));
  } else {
    io.out(`${ds.name}: ${report.errors} of ${report.count} images misclassified (accuracy ${(report.accuracy * 100).toFixed(2)}%); the ${report.mistakes.length} most confident:`);
    for (const m of report.mistakes) {
      const where = m.file ?? `#${m.index}`;
      const cf = m.counterfactual ? ` | counterfactual → ${names[m.counterfactual.label] ?? m.counterfactual.label} (${m.counterfactual.found ? `found, L2 ${m.counterfactual.l2.toFixed(2)}` : 'not found'})` : '';
      io.out(`  ${where}: true ${names[m.label] ?? m.label}, predicted ${names[m.predicted] ?? m.predicted} (${(m.confidence * 100).toFixed(1)}%)${cf}`);
    }
  }
  loaded.model.dispose();
  return 0;
}
