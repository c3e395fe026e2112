import { stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { describeError, XaiLensError } from '../errors';
import { readImageFile } from '../image/decode';
import { prepareForModel } from '../preprocess';
import { predictFast } from '../parallel/replica';
import { openBestForward } from '../native/nativeForward';
import { listImages } from '../explain/folder';
import { loadModelFolder, startBackend, type Io } from './common';
import { stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

/** Input values decoded at a time (128 MB): a folder of photos is predicted in chunks, not held in memory whole. */
const CHUNK_VALUES = 32 * 1024 * 1024;

/**
 * Predicts the images given, a folder standing for every PNG/JPEG under it (sorted, recursively). Unreadable images
 * are reported one line each and do not stop the rest; results print chunk by chunk, in order.
 */
export async function predictCommand(values: Values, args: string[], io: Io, chunkValues = CHUNK_VALUES): Promise<number> {
  if (args.length === 0) throw new XaiLensError('no images given (usage: xai-lens predict [--model <file|dir|default>] [--json] <images or folders...>)');
  let failures = 0;
  const files: string[] = [];
  for (const arg of args) {
    const isDir = await stat(arg).then((s) => s.isDirectory(), () => false);
    if (!isDir) {
      files.push(arg); // a missing file is reported by readImageFile, in order with the others
      continue;
    }
    const found = await listImages(arg);
    if (found.length === 0) {
      failures++;
      io.err(`xai-lens: ${arg}: no PNG or JPEG images under this folder`);
    }
    files.push(...found);
  }
  await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'), values['allow-large-model'] === true);
  const [h, w, c] = loaded.inputShape;
  const per = h * w * c;
  const details = loaded.imported.details;
  const names = details.displayNames ?? loaded.imported.classNames;
  const k = loaded.numClasses;
  const chunk = Math.max(1, Math.floor(chunkValues / per));
  const pixels = new Float32Array(Math.min(files.length, chunk) * per);
  // Opened once: ONNX Runtime's session and its probe are not repeated for every chunk.
  const forward = await openBestForward(loaded.model, (src) => predictFast(loaded.model, src, 256, loaded.numClasses));
  if (forward.note && !values.json) io.err(forward.note);
  try {
    for (let start = 0; start < files.length; start += chunk) {
      const good: { file: string; notes: string[] }[] = [];
      for (const file of files.slice(start, start + chunk)) {
        try {
          const prepared = prepareForModel(await readImageFile(file), loaded.inputShape, details, details.alphaBackground);
          pixels.set(prepared.image.data, good.length * per);
          good.push({ file, notes: prepared.notes });
        } catch (e) {
          failures++;
          io.err(`xai-lens: ${describeError(e)}`);
        }
      }
      if (!good.length) continue;
      const probabilities = await forward.run({ images: pixels.subarray(0, good.length * per), count: good.length, shape: loaded.inputShape });
      good.forEach(({ file, notes }, index) => {
        const p = Array.from(probabilities.subarray(index * k, (index + 1) * k));
        const ranked = p.map((v, i) => [i, v] as const).sort((a, b) => b[1] - a[1]);
        if (values.json) {
          io.out(JSON.stringify({ file, label: ranked[0][0], className: names[ranked[0][0]], probabilities: p, backend: forward.backend, ...(notes.length ? { notes } : {}) }));
        } else {
          const top = ranked.slice(0, 5).map(([i, v]) => `${names?.[i] ?? i} ${(v * 100).toFixed(2)}%`);
          io.out(`${file}: ${names?.[ranked[0][0]] ?? ranked[0][0]}  (top-5: ${top.join(', ')})${notes.length ? `  [${notes.join('; ')}]` : ''}`);
        }
      });
    }
  } finally {
    forward.dispose();
  }
  loaded.model.dispose();
  tf.disposeVariables();
  return failures ? 1 : 0;
}
