import { XaiLensError } from '../errors';
import { readModelCard, readModelArtifacts } from '../io/modelFolder';
import { resolveModelDir, type Io } from './common';
import { stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

/** Prints the model card as JSON. Reads files only: no backend is started. */
export async function infoCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const dir = resolveModelDir(stringFlag(values, 'model'));
  await readModelArtifacts(dir); // validates the folder, so a wrong folder fails here with a clear message
  const card = await readModelCard(dir);
  if (!card) throw new XaiLensError('model folder has no model-card.json (it was not trained by XAI Lens)', dir);
  io.out(JSON.stringify({ dir, ...card }, null, values.json ? undefined : 2));
  return 0;
}
