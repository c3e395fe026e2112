/**
 * `xai-lens explain-folder <dir>`: every PNG/JPEG under a folder with its prediction, confidence and the peak of
 * its Grad-CAM map, printed as each image finishes (with --json exactly one JSON object per line per image). Ctrl-C
 * stops after the current image. Exit code 1 when some images could not be read.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { createModelView } from '../explain/modelView';
import { explainFolder, listImages } from '../explain/folder';
import { isGalleryError } from '../../shared/gallery';
import { loadModelFolder, startBackend, type Io } from './common';
import { numberFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

export async function explainFolderCommand(values: Values, positionals: string[], io: Io): Promise<number> {
  if (positionals.length !== 1) throw new XaiLensError(`explain-folder takes exactly one folder, got ${positionals.length} (usage: xai-lens explain-folder <dir> [options])`);
  const dir = positionals[0];
  const limit = values.limit === undefined ? Infinity : numberFlag(values, 'limit', 0, { integer: true, min: 1 });
  const files = await listImages(dir, limit);
  await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'));
  const view = createModelView(loaded.model);
  const classNames = loaded.imported.classNames;
  const controller = new AbortController();
  const onSigint = () => {
    io.err('xai-lens: stopping after the current image');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  try {
    for await (const item of explainFolder(view, files, { root: dir, details: loaded.imported.details, classNames, layer: stringFlag(values, 'layer'), thumbnail: 28, signal: controller.signal })) {
      if (isGalleryError(item)) {
        failed++;
        if (values.json) io.out(JSON.stringify({ file: item.file, error: item.error }));
        io.err(`xai-lens: ${item.error}`);
        continue;
      }
      ok++;
      if (values.json) {
        io.out(JSON.stringify({ file: item.file, label: item.label, class_name: item.className, confidence: item.confidence, top: item.top, ms: Math.round(item.ms) }));
      } else {
        io.out(`${item.relative}: ${item.className}  ${(item.confidence * 100).toFixed(2)} %`);
      }
    }
  } catch (e) {
    if (!(e instanceof XaiLensError && e.message === 'cancelled')) throw e;
  } finally {
    process.off('SIGINT', onSigint);
    loaded.model.dispose();
    tf.disposeVariables();
  }
  const stopped = controller.signal.aborted ? ', stopped early' : '';
  io.err(`${ok} of ${files.length} images explained${failed ? `, ${failed} unreadable` : ''}${stopped} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}
