/**
 * Faithfulness and sanity on the bundled model and unseen MNIST test digits: the best method's deletion curve falls
 * well below chance, and maps change when the model's top layers are re-initialised (Adebayo et al. 2018).
 */
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend/backends';
import { loadModel } from '../../src/engine/io/modelFolder';
import { loadMnist } from '../../src/engine/data/datasets';
import { createModelView } from '../../src/engine/explain/modelView';
import { EXPLAINERS, getExplainer } from '../../src/engine/explain/registry';
import { faithfulness } from '../../src/engine/explain/deletion';
import { randomizationCheck } from '../../src/engine/explain/sanity';
import { defaultModelDir } from '../../src/engine/paths';
import type * as tf from '@tensorflow/tfjs';
import { optionsFor } from './helpers';

describe('explanations of the bundled model', function () {
  this.timeout(300_000);
  let model: tf.LayersModel;
  let digits: { image: Float32Array; label: number }[];

  before(async () => {
    await initBackend('wasm');
    model = await loadModel(defaultModelDir());
    const test = await loadMnist('test');
    // Unseen digits spread over the test set.
    digits = [1000, 3000, 5000].map((i) => ({ image: test.images.slice(i * 784, (i + 1) * 784), label: test.labels[i] }));
  });
  after(() => model.dispose());

  it('the best method deletes the class much faster than a random pixel order', async () => {
    const view = createModelView(model);
    for (const d of digits) {
      let best = Infinity;
      let random = 0;
      for (const e of EXPLAINERS) {
        const a = await e.explain(view, { image: d.image, shape: [28, 28, 1], target: d.label, layer: view.defaultLayer, seed: 1, options: optionsFor(e, { samples: e.id === 'lime' ? 300 : 20 }) });
        const f = faithfulness(view.probabilities, d.image, [28, 28, 1], a.heatmap, d.label, { seed: 2 });
        best = Math.min(best, f.deletionAuc);
        random = f.randomDeletionAuc;
      }
      assert.ok(best < 0.5 * random, `digit ${d.label}: best deletion AUC ${best.toFixed(3)} vs random ${random.toFixed(3)}`);
    }
  });

  for (const id of ['gradcam', 'smoothgrad', 'ig']) {
    it(`${id} passes the model-randomization check`, async () => {
      const view = createModelView(model);
      const d = digits[0];
      const req = { image: d.image, shape: [28, 28, 1] as [number, number, number], target: d.label, layer: view.defaultLayer, seed: 1 };
      const trained = await getExplainer(id).explain(view, req);
      const r = await randomizationCheck(model, getExplainer(id), req, trained.heatmap, { layers: 6, seed: 5 });
      assert.equal(r.randomizedLayers.length, 6);
      assert.ok(r.correlation < 0.5, `${id}: rank correlation with the randomized model ${r.correlation.toFixed(3)}`);
    });
  }
});
