/**
 * Explanation latency: `npm run bench:explain -- --json`. Median milliseconds per method and per counterfactual
 * for one 28×28 image with the bundled model, after one warm-up call each. The last line is one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { initBackend, parseBackendChoice } from '../src/engine/backend/backends';
import { loadModel } from '../src/engine/io/modelFolder';
import { createModelView } from '../src/engine/explain/modelView';
import { EXPLAINERS } from '../src/engine/explain/registry';
import { growingSpheres } from '../src/engine/explain/counterfactuals/growingSpheres';
import { gradientCounterfactual } from '../src/engine/explain/counterfactuals/gradient';
import { readImageFile } from '../src/engine/image/decode';
import { medianMs } from './benchStats';
import { defaultModelDir, packageRoot } from '../src/engine/paths';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    model: { type: 'string' },
    image: { type: 'string' },
    backend: { type: 'string' },
    repeats: { type: 'string', default: '7' },
  },
});

(async () => {
  const backend = await initBackend(parseBackendChoice(values.backend));
  const dir = values.model ?? defaultModelDir();
  const model = await loadModel(dir);
  const view = createModelView(model);
  const img = await readImageFile(values.image ?? join(packageRoot(), 'media', 'samples', 'digit-7.png'));
  const shape = view.inputShape;
  const x = tf.tensor4d(img.data, [1, ...shape]);
  const target = (tf.argMax(view.probabilities(x), 1).dataSync()[0]);
  x.dispose();
  const repeats = Number(values.repeats);
  const req = { image: img.data, shape, target, layer: view.defaultLayer, seed: 1 };
  const methods: Record<string, { ms: number }> = {};
  for (const e of EXPLAINERS) {
    methods[e.id] = { ms: await medianMs(repeats, () => e.explain(view, req)) };
    if (!values.json) console.error(`${e.id}: ${methods[e.id].ms.toFixed(1)} ms`);
  }
  const counterfactuals = {
    gradient: { ms: await medianMs(Math.min(repeats, 5), () => gradientCounterfactual(view.scores, view.probabilities, img.data, shape, { seed: 1 })) },
    'growing-spheres': { ms: await medianMs(Math.min(repeats, 5), () => growingSpheres(view.probabilities, img.data, shape, { seed: 1 })) },
  };
  if (!values.json) console.error(`counterfactuals: gradient ${counterfactuals.gradient.ms.toFixed(0)} ms, growing spheres ${counterfactuals['growing-spheres'].ms.toFixed(0)} ms`);
  console.log(JSON.stringify({ model: dir, backend: backend.name, methods, counterfactuals }));
  model.dispose();
})();
