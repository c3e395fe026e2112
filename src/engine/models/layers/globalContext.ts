/**
 * Global context block of GCNet (Cao et al. 2019, "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and
 * Beyond"), with attention pooling and channel-add fusion as in the paper's best setting:
 *   m = softmax over the H·W positions of conv₁ₓ₁(x) (C → 1, with bias);
 *   context = Σ_p m_p x_p  ([C]);
 *   t = W₂·ReLU(LN(W₁·context + b₁)) + b₂  (C → C/r → C; LN over the C/r units with a learned scale and shift);
 *   out = x + t, broadcast over positions. W₂ and b₂ start at zero, so the block starts as the identity.
 * The two transforms are 1×1 convolutions on a 1×1 map in the paper; here they are the equivalent matrices.
 */
import * as tf from '@tensorflow/tfjs';
import { channelsOf, nthSeed, numberIn, oneTensor, pointwise, positiveInt, type AttentionMaps, type Kwargs } from './attentionCommon';

export interface GcArgs {
  /** Seed for the weight initialisers, so that a build is reproducible. Default: unseeded. */
  seed?: number;
  /** Bottleneck ratio r of the transform (width C/r). Default 16 (Cao et al.). */
  ratio?: number;
  /** Smallest bottleneck width. Default 1. */
  minUnits?: number;
  /** Epsilon of the layer norm. Default 1e-5 (PyTorch's LayerNorm, as in the reference code). */
  epsilon?: number;
  name?: string;
  trainable?: boolean;
}

export class GCBlock extends tf.layers.Layer {
  static className = 'GCBlock';
  readonly ratio: number;
  readonly minUnits: number;
  readonly epsilon: number;
  readonly seed: number | undefined;
  private wm!: tf.LayerVariable;
  private bm!: tf.LayerVariable;
  private w1!: tf.LayerVariable;
  private b1!: tf.LayerVariable;
  private lnGamma!: tf.LayerVariable;
  private lnBeta!: tf.LayerVariable;
  private w2!: tf.LayerVariable;
  private b2!: tf.LayerVariable;

  constructor(args: GcArgs = {}) {
    super(args);
    this.ratio = positiveInt(args.ratio ?? 16, 'ratio', 'GCBlock');
    this.minUnits = positiveInt(args.minUnits ?? 1, 'minUnits', 'GCBlock');
    this.epsilon = numberIn(args.epsilon ?? 1e-5, 'epsilon', 'GCBlock', 0, 1);
    this.seed = args.seed;
  }

  hiddenUnits(channels: number): number {
    return Math.max(this.minUnits, Math.floor(channels / this.ratio));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(inputShape, 'GCBlock');
    const p = this.hiddenUnits(c);
    this.wm = this.addWeight('mask/kernel', [1, 1, c, 1], 'float32', tf.initializers.glorotUniform({ seed: this.seed }));
    this.bm = this.addWeight('mask/bias', [1], 'float32', tf.initializers.zeros());
    this.w1 = this.addWeight('transform1/kernel', [c, p], 'float32', tf.initializers.heNormal({ seed: nthSeed(this.seed, 1) }));
    this.b1 = this.addWeight('transform1/bias', [p], 'float32', tf.initializers.zeros());
    this.lnGamma = this.addWeight('ln/gamma', [p], 'float32', tf.initializers.ones());
    this.lnBeta = this.addWeight('ln/beta', [p], 'float32', tf.initializers.zeros());
    this.w2 = this.addWeight('transform2/kernel', [p, c], 'float32', tf.initializers.zeros());
    this.b2 = this.addWeight('transform2/bias', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  /** [n, H·W] softmax mask over positions. */
  private mask(x: tf.Tensor4D): tf.Tensor2D {
    const [n, h, w] = x.shape;
    return tf.softmax(tf.reshape(pointwise(x, this.wm.read(), this.bm.read()), [n, h * w])) as tf.Tensor2D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, h, w, c] = x.shape;
      const m = tf.reshape(this.mask(x), [n, 1, h * w]);
      const context = tf.reshape(tf.matMul(m, tf.reshape(x, [n, h * w, c])), [n, c]);
      const t1 = tf.add(tf.matMul(context, this.w1.read()), this.b1.read());
      const { mean, variance } = tf.moments(t1, -1, true);
      const normed = tf.add(tf.mul(tf.div(tf.sub(t1, mean), tf.sqrt(tf.add(variance, this.epsilon))), this.lnGamma.read()), this.lnBeta.read());
      const t = tf.add(tf.matMul(tf.relu(normed), this.w2.read()), this.b2.read());
      return tf.add(x, tf.reshape(t, [n, 1, 1, c]));
    });
  }

  attentionMaps(x: tf.Tensor4D): AttentionMaps {
    const [n, h, w] = x.shape;
    return { spatial: tf.reshape(this.mask(x), [n, h, w]) as tf.Tensor3D };
  }

  /** Mask conv H·W·C, context H·W·C, transforms 2·C·C/r, the add H·W·C. */
  macs([h, w, c]: [number, number, number]): number {
    return 3 * h * w * c + 2 * c * this.hiddenUnits(c);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), ratio: this.ratio, minUnits: this.minUnits, epsilon: this.epsilon,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(GCBlock);
