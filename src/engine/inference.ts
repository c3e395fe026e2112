/** Batched prediction and evaluation of a loaded classifier over images already in model-input form. */
import * as tf from '@tensorflow/tfjs';

export interface ImageBatchSource {
  images: Float32Array;
  count: number;
  shape: [number, number, number];
}

/** Softmax probabilities for every image, `count × numClasses`, computed in batches. */
export function predictProbabilities(model: tf.LayersModel, src: ImageBatchSource, batchSize = 256): Float32Array {
  const [h, w, c] = src.shape;
  const per = h * w * c;
  let out: Float32Array | undefined;
  let numClasses = 0;
  for (let start = 0; start < src.count; start += batchSize) {
    const n = Math.min(batchSize, src.count - start);
    const probs = tf.tidy(() => {
      const x = tf.tensor4d(src.images.subarray(start * per, (start + n) * per), [n, h, w, c]);
      return model.predict(x) as tf.Tensor;
    });
    const values = probs.dataSync() as Float32Array;
    probs.dispose();
    if (!out) {
      numClasses = values.length / n;
      out = new Float32Array(src.count * numClasses);
    }
    out.set(values, start * numClasses);
  }
  return out ?? new Float32Array(0);
}

export interface Evaluation {
  count: number;
  accuracy: number;
  /** Mean cross-entropy of the true class. */
  loss: number;
  perClassAccuracy: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let k = 1; k < length; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}

export function evaluateProbabilities(probs: Float32Array, labels: ArrayLike<number>, numClasses: number): Evaluation {
  const count = labels.length;
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const y = labels[i];
    const p = argmax(probs, i * numClasses, numClasses);
    confusion[y][p]++;
    if (p === y) correct++;
    loss -= Math.log(Math.max(probs[i * numClasses + y], 1e-7));
  }
  const perClassAccuracy = confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[k] / total : NaN;
  });
  return { count, accuracy: count ? correct / count : NaN, loss: count ? loss / count : NaN, perClassAccuracy, confusion };
}

export function evaluateModel(
  model: tf.LayersModel,
  src: ImageBatchSource & { labels: ArrayLike<number>; numClasses: number },
  batchSize = 256,
): Evaluation {
  return evaluateProbabilities(predictProbabilities(model, src, batchSize), src.labels, src.numClasses);
}
