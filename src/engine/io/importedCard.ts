/** The model card of an imported model (any format), built from what the importer found. */
import * as tf from '@tensorflow/tfjs';
import type { ImportedModel } from './modelFormats';
import type { ImportedModelCard } from '../../shared/modelFormats';

function layerRows(model: tf.LayersModel, out: ImportedModelCard['layers']): void {
  for (const layer of model.layers) {
    if (layer instanceof tf.LayersModel) {
      layerRows(layer, out);
      continue;
    }
    if (layer.getClassName() === 'InputLayer') continue;
    const shape = layer.inboundNodes[0]?.outputTensors[0]?.shape ?? [];
    out.push({ name: layer.name, className: layer.getClassName(), outputShape: shape.slice(1) });
  }
}

export function importedModelCard(m: ImportedModel): ImportedModelCard {
  const layers: ImportedModelCard['layers'] = [];
  layerRows(m.model, layers);
  const d = m.details;
  return {
    format: 'xai-lens-imported-model/1',
    name: m.name,
    modelFormat: d.format,
    formatLabel: d.formatLabel,
    path: m.path,
    architecture: m.architecture,
    inputShape: m.inputShape,
    params: m.params,
    numClasses: m.numClasses,
    classNames: m.classNames,
    ...(d.displayNames ? { displayNames: d.displayNames } : {}),
    classNamesSource: d.classNamesSource,
    preprocessing: d.preprocessing,
    preprocessingSource: d.preprocessingSource,
    preprocessingNote: d.preprocessingNote,
    alphaBackground: d.alphaBackground,
    layers,
    notes: d.notes,
  };
}
