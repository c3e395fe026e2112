/** Keras layer behaviours tfjs-layers 4.22 lacks, as tfjs-layers custom layers (registered on import). */
import * as tf from '@tensorflow/tfjs';

/** GlobalAveragePooling2D / GlobalMaxPooling2D with keepdims=True (Keras ≥ 2.6): [N, H, W, C] → [N, 1, 1, C]. */
export class GlobalPooling2DKeepDims extends tf.layers.Layer {
  static className = 'XaiLensGlobalPooling2DKeepDims';
  readonly mode: 'avg' | 'max';

  constructor(args: { mode?: 'avg' | 'max'; name?: string; trainable?: boolean }) {
    super(args);
    this.mode = args.mode === 'max' ? 'max' : 'avg';
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], 1, 1, s[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      return this.mode === 'avg' ? tf.avgPool(x, [h, w], [h, w], 'valid') : tf.maxPool(x, [h, w], [h, w], 'valid');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}

tf.serialization.registerClass(GlobalPooling2DKeepDims);
