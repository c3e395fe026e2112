/** The loss and gradients of one (part of a) training batch, shared by the trainer and its second thread. */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';

/** The model up to its `logits` layer: training uses logits, saved models end in a softmax. */
export function logitsModel(model: tf.LayersModel): tf.LayersModel {
  try {
    const logits = model.getLayer('logits');
    return tf.model({ inputs: model.inputs, outputs: logits.output as tf.SymbolicTensor });
  } catch {
    throw new XaiLensError(`model "${model.name}" has no "logits" layer; only models built by XAI Lens can be trained`);
  }
}

export interface BatchGradients {
  /** Mean softmax cross-entropy over the n images. */
  loss: number;
  /** Images whose arg-max logit is the label. */
  correct: number;
  /** Gradients of `loss` by variable name; the caller disposes them. */
  grads: tf.NamedTensorMap;
}

/** Forward in training mode (batch-norm statistics update), softmax cross-entropy on the logits, gradients. */
export function computeGradients(
  trainable: tf.LayersModel,
  vars: tf.Variable[],
  shape: [number, number, number],
  numClasses: number,
  images: Float32Array,
  labels: Int32Array,
  n: number,
): BatchGradients {
  const [h, w, c] = shape;
  let hits: tf.Tensor | undefined;
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor4d(images.subarray(0, n * h * w * c), [n, h, w, c]);
    const y = tf.oneHot(tf.tensor1d(labels.subarray(0, n), 'int32'), numClasses);
    return tf.variableGrads(() => {
      const logits = trainable.apply(x, { training: true }) as tf.Tensor;
      // variableGrads disposes everything f made except its result, so the hit count is kept explicitly.
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32')));
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, vars);
  });
  const both = tf.stack([value, hits!]);
  const [loss, correct] = both.dataSync();
  tf.dispose([both, value, hits!]);
  return { loss, correct, grads };
}
