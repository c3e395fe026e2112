import { readModelArtifacts, readModelCard } from '../io/modelFolder';
import { detectModelFormat, importModel } from '../io/modelFormats';
import { importedModelCard } from '../io/importedCard';
import { resolveModelDir, type Io } from './common';
import { stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

/**
 * Prints the model card as JSON: a model trained by XAI Lens has its model-card.json (read without starting a
 * backend); any other model (TF.js, .keras, .h5, .onnx) is loaded and described.
 */
export async function infoCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const path = resolveModelDir(stringFlag(values, 'model'));
  const found = detectModelFormat(path);
  const card = found.id === 'tfjs-layers' && found.isFolder ? await readModelCard(found.path) : undefined;
  if (card) {
    await readModelArtifacts(found.path); // validates the folder, so a broken model fails here with a clear message
    io.out(JSON.stringify({ dir: found.path, ...card }, null, values.json ? undefined : 2));
    return 0;
  }
  const imported = await importModel(path, { allowLarge: values['allow-large-model'] === true });
  try {
    io.out(JSON.stringify(importedModelCard(imported), null, values.json ? undefined : 2));
  } finally {
    imported.model.dispose();
  }
  return 0;
}
