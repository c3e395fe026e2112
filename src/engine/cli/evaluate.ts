import * as tf from '@tensorflow/tfjs';
import { labelsByModelClasses, loadEvaluationSet, subset } from '../data/datasets';
import { evaluateProbabilities } from '../inference';
import { predictFast } from '../parallel/replica';
import { predictWithBestBackend } from '../native/nativeForward';
import { XaiLensError } from '../errors';
import { loadModelFolder, startBackend, type Io } from './common';
import { numberFlag, requireFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

export async function evaluateCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const spec = requireFlag(values, 'data', 'evaluate [--model <dir|default>] --data <...>');
  const splitFlag = stringFlag(values, 'split');
  if (splitFlag !== undefined && splitFlag !== 'test' && splitFlag !== 'train') throw new XaiLensError(`--split must be "test" or "train", got "${splitFlag}"`);
  const backend = await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'), values['allow-large-model'] === true);
  const chosen = await loadEvaluationSet(spec, splitFlag, loaded.inputShape);
  const split = chosen.split;
  let ds = chosen.ds;
  const limit = numberFlag(values, 'limit', ds.count, { integer: true, min: 1 });
  if (limit < ds.count) ds = subset(ds, Array.from({ length: limit }, (_, i) => i));
  if (ds.numClasses > loaded.numClasses) {
    throw new XaiLensError(`dataset "${spec}" has ${ds.numClasses} classes but the model predicts ${loaded.numClasses}`, loaded.dir);
  }
  ds = labelsByModelClasses(ds, loaded.imported.classNames);
  const t0 = performance.now();
  const run = await predictWithBestBackend(loaded.model, ds, () => predictFast(loaded.model, ds, 256, loaded.numClasses));
  if (run.note && !values.json) io.err(run.note);
  const ev = evaluateProbabilities(run.probabilities, ds.labels, loaded.numClasses);
  const seconds = (performance.now() - t0) / 1000;
  const names = loaded.card?.classNames ?? ds.classNames;
  if (values.json) {
    io.out(JSON.stringify({ model: loaded.dir, data: spec, split, backend: run.backend, tfjs_backend: backend.name, count: ev.count, accuracy: ev.accuracy, loss: ev.loss, perClassAccuracy: ev.perClassAccuracy, confusion: ev.confusion, seconds }));
  } else {
    io.out(`${ds.name} ${split}: ${ev.count} images, accuracy ${(ev.accuracy * 100).toFixed(2)}%, loss ${ev.loss.toFixed(4)} (${(ev.count / seconds).toFixed(0)} img/s)`);
    io.out('per-class accuracy:');
    ev.perClassAccuracy.forEach((a, k) => io.out(`  ${String(names[k] ?? k).padEnd(12)} ${(a * 100).toFixed(2)}%`));
    io.out('confusion matrix (rows: true class, columns: predicted):');
    for (const row of ev.confusion) io.out('  ' + row.map((v) => String(v).padStart(5)).join(''));
  }
  loaded.model.dispose();
  tf.disposeVariables();
  return 0;
}
