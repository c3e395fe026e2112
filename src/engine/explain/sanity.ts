/**
 * Model-randomization sanity check (Adebayo et al. 2018): an explanation that depends on what the model learned must
 * change when the model's top layers are re-initialised. Returns the Spearman rank correlation between the map of
 * the trained model and the map of a copy whose top `layers` weighted layers get fresh random weights (cascading from
 * the output, each weight drawn from N(0, std of the trained weight) so activations keep their scale). Near 1: the
 * method ignores the model (e.g. an edge detector); well below 1: it passes.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../data/random';
import { createModelView } from './modelView';
import { spearman } from './stats';
import type { Explainer, ExplainRequest } from './types';

export interface RandomizationResult {
  correlation: number;
  randomizedLayers: string[];
}

async function cloneModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

export async function randomizeTopLayers(model: tf.LayersModel, layers: number, seed: number): Promise<{ model: tf.LayersModel; names: string[] }> {
  const copy = await cloneModel(model);
  const rng = new SeededRandom(seed);
  const weighted = copy.layers.filter((l) => l.trainableWeights.length > 0);
  const top = weighted.slice(-layers);
  for (const layer of top) {
    const fresh = layer.getWeights().map((w, i) => {
      if (!layer.weights[i].trainable) return w.clone();
      const values = w.dataSync();
      let m = 0;
      let s = 0;
      for (const v of values) m += v;
      m /= values.length || 1;
      for (const v of values) s += (v - m) ** 2;
      const std = Math.sqrt(s / (values.length || 1)) || 0.05;
      return tf.tensor(Float32Array.from(values, () => rng.gaussian() * std), w.shape);
    });
    layer.setWeights(fresh);
    fresh.forEach((t) => t.dispose());
  }
  return { model: copy, names: top.map((l) => l.name) };
}

export async function randomizationCheck(
  model: tf.LayersModel,
  explainer: Explainer,
  req: ExplainRequest,
  trainedMap: Float32Array,
  opts: { layers?: number; seed?: number } = {},
): Promise<RandomizationResult> {
  const { model: random, names } = await randomizeTopLayers(model, opts.layers ?? 4, opts.seed ?? 1);
  try {
    const view = createModelView(random);
    const layer = view.spatialLayers.some((l) => l.name === req.layer) ? req.layer : view.defaultLayer;
    const r = await explainer.explain(view, { ...req, layer });
    return { correlation: spearman(trainedMap, r.heatmap), randomizedLayers: names };
  } finally {
    random.dispose();
  }
}
