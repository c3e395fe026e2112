import * as tf from '@tensorflow/tfjs';
import { describeError } from '../errors';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { predictFast } from '../parallel/replica';
import { predictWithBestBackend } from '../native/nativeForward';
import { loadModelFolder, startBackend, type Io } from './common';
import { stringFlag } from './flags';
import { XaiLensError } from '../errors';

type Values = Record<string, string | boolean | undefined>;

/** Predicts all readable images in one batch; unreadable ones are reported one line each and do not stop the rest. */
export async function predictCommand(values: Values, files: string[], io: Io): Promise<number> {
  if (files.length === 0) throw new XaiLensError('no images given (usage: xai-lens predict [--model <file|dir|default>] [--json] <images...>)');
  await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'), values['allow-large-model'] === true);
  const [h, w, c] = loaded.inputShape;
  const per = h * w * c;
  const good: { file: string; index: number; notes: string[] }[] = [];
  const details = loaded.imported.details;
  const pixels = new Float32Array(files.length * per);
  let failures = 0;
  for (const file of files) {
    try {
      const img = await readImageFile(file);
      const prepared = prepareForModel(img, loaded.inputShape, details, details.alphaBackground);
      pixels.set(prepared.image.data, good.length * per);
      good.push({ file, index: good.length, notes: prepared.notes });
    } catch (e) {
      failures++;
      io.err(`xai-lens: ${describeError(e)}`);
    }
  }
  if (good.length) {
    const src = { images: pixels.subarray(0, good.length * per), count: good.length, shape: loaded.inputShape };
    const run = await predictWithBestBackend(loaded.model, src, () => predictFast(loaded.model, src, 256, loaded.numClasses));
    if (run.note && !values.json) io.err(run.note);
    const probs = run.probabilities;
    const k = loaded.numClasses;
    const names = details.displayNames ?? loaded.imported.classNames;
    for (const { file, index, notes } of good) {
      const p = Array.from(probs.subarray(index * k, (index + 1) * k));
      const ranked = p.map((v, i) => [i, v] as const).sort((a, b) => b[1] - a[1]);
      if (values.json) {
        io.out(JSON.stringify({ file, label: ranked[0][0], className: names[ranked[0][0]], probabilities: p, backend: run.backend, ...(notes.length ? { notes } : {}) }));
      } else {
        const top = ranked.slice(0, 5).map(([i, v]) => `${names?.[i] ?? i} ${(v * 100).toFixed(2)}%`);
        io.out(`${file}: ${names?.[ranked[0][0]] ?? ranked[0][0]}  (top-5: ${top.join(', ')})${notes.length ? `  [${notes.join('; ')}]` : ''}`);
      }
    }
  }
  loaded.model.dispose();
  tf.disposeVariables();
  return failures ? 1 : 0;
}
