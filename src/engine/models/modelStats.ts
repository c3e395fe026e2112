/** Size and cost of a model: parameters and multiply-accumulates per image (convolutions, dense, attention). */
import * as tf from '@tensorflow/tfjs';

interface WithMacs {
  macs(inputShape: [number, number, number]): number;
}

function hasMacs(layer: unknown): layer is WithMacs {
  return typeof (layer as Partial<WithMacs>).macs === 'function';
}

function dims(shape: tf.Shape | tf.Shape[]): number[] {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
  return s.slice(1).map((d) => d ?? 1);
}

/** Shapes from the layer's first node: explainers re-apply layers to new inputs, adding nodes of the same shape. */
function inputDims(layer: tf.layers.Layer): number[] {
  return dims(layer.inboundNodes[0].inputTensors.map((t) => t.shape));
}

function outputDims(layer: tf.layers.Layer): number[] {
  return dims(layer.inboundNodes[0].outputTensors.map((t) => t.shape));
}

export function countMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      const [oh, ow, oc] = outputDims(layer);
      const [, , ic] = inputDims(layer);
      const [kh, kw] = (layer.getConfig().kernelSize as number[]) ?? [1, 1];
      macs += oh * ow * oc * kh * kw * ic;
    } else if (cls === 'DepthwiseConv2D') {
      const [oh, ow, oc] = outputDims(layer);
      const [kh, kw] = (layer.getConfig().kernelSize as number[]) ?? [1, 1];
      macs += oh * ow * oc * kh * kw;
    } else if (cls === 'Dense') {
      const [i] = inputDims(layer);
      const [o] = outputDims(layer);
      macs += i * o;
    } else if (hasMacs(layer)) {
      macs += layer.macs(inputDims(layer) as [number, number, number]);
    } else if (layer instanceof tf.LayersModel) {
      macs += countMacs(layer);
    }
  }
  return macs;
}
