/**
 * Attention blocks as serializable tfjs-layers custom layers: SE and CBAM here, PAM (positionAttention.ts) and GC
 * (globalContext.ts) beside them. Each is self-contained (its own weights), so a saved model loads anywhere these
 * classes are registered (importing this module registers all four). Formulas, config keys and weight layouts:
 * docs/attention.md.
 *
 * Global pooling uses avgPool/maxPool with a full-size window rather than mean/max over axes [1, 2]: on the wasm
 * backend those run on XNNPACK and have native gradients, while axis reductions transpose first.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining } from '../../backend/fastLayers';
import {
  booleanArg, channelsOf, globalPool, nthSeed, numberIn, oneTensor, positiveInt, type AttentionMaps, type Kwargs,
} from './attentionCommon';
import { PAM } from './positionAttention';
import { GCBlock } from './globalContext';

export interface SqueezeExciteArgs {
  /** Seed for the weight initialisers, so that a build is reproducible. Default: unseeded. */
  seed?: number;
  /** Channel reduction ratio r of the bottleneck (hidden width C/r). Default 16 (Hu et al.). */
  ratio?: number;
  /** Smallest bottleneck width. Default 1 (the published C/r, floored, at least one unit). */
  minUnits?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Squeeze-and-Excitation (Hu et al. 2018): s = σ(W₂·ReLU(W₁·GAP(x) + b₁) + b₂), out = x ⊙ s (per channel).
 */
export class SqueezeExcite extends tf.layers.Layer {
  static className = 'SqueezeExcite';
  readonly ratio: number;
  readonly minUnits: number;
  readonly seed: number | undefined;
  private w1!: tf.LayerVariable;
  private b1!: tf.LayerVariable;
  private w2!: tf.LayerVariable;
  private b2!: tf.LayerVariable;

  constructor(args: SqueezeExciteArgs = {}) {
    super(args);
    this.ratio = positiveInt(args.ratio ?? 16, 'ratio', 'SqueezeExcite');
    this.minUnits = positiveInt(args.minUnits ?? 1, 'minUnits', 'SqueezeExcite');
    this.seed = args.seed;
  }

  hiddenUnits(channels: number): number {
    return Math.max(this.minUnits, Math.floor(channels / this.ratio));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(inputShape, 'SqueezeExcite');
    const h = this.hiddenUnits(c);
    this.w1 = this.addWeight('fc1/kernel', [c, h], 'float32', tf.initializers.heNormal({ seed: this.seed }));
    this.b1 = this.addWeight('fc1/bias', [h], 'float32', tf.initializers.zeros());
    this.w2 = this.addWeight('fc2/kernel', [h, c], 'float32', tf.initializers.glorotUniform({ seed: nthSeed(this.seed, 1) }));
    this.b2 = this.addWeight('fc2/bias', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  private gate(x: tf.Tensor4D): tf.Tensor2D {
    const hidden = tf.relu(tf.add(tf.matMul(globalPool(x, 'avg'), this.w1.read()), this.b1.read()));
    return tf.sigmoid(tf.add(tf.matMul(hidden, this.w2.read()), this.b2.read())) as tf.Tensor2D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, , , c] = x.shape;
      return tf.mul(x, tf.reshape(this.gate(x), [n, 1, 1, c]));
    });
  }

  attentionMaps(x: tf.Tensor4D): AttentionMaps {
    return { channel: this.gate(x) };
  }

  /** Multiply-accumulates per image for an input of [H, W, C]. */
  macs([h, w, c]: [number, number, number]): number {
    const hid = this.hiddenUnits(c);
    return 2 * c * hid + h * w * c;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ratio: this.ratio, minUnits: this.minUnits, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

export interface CbamArgs {
  /** Seed for the weight initialisers, so that a build is reproducible. Default: unseeded. */
  seed?: number;
  /** Channel reduction ratio r of the shared MLP (hidden width C/r). Default 16 (Woo et al.). */
  ratio?: number;
  /** Smallest hidden width of the MLP. Default 1 (the published C/r, floored, at least one unit). */
  minUnits?: number;
  /** Side of the spatial-attention convolution. Default 7 (Woo et al. 2018); use 3 on maps of 7×7 or less. */
  kernelSize?: number;
  /**
   * The published spatial gate σ(BN(conv([max_c, mean_c]))) with a bias-free convolution. Default true for new
   * layers. A saved config without this key is read as false: the earlier XAI Lens gate σ(conv([mean_c, max_c]) + b)
   * that the bundled model was trained with.
   */
  spatialBatchNorm?: boolean;
  /** Momentum of the spatial batch norm's moving statistics (Keras convention). Default 0.99. */
  momentum?: number;
  /** Epsilon of the spatial batch norm. Default 1e-5 (PyTorch's BatchNorm2d, as in the reference code). */
  epsilon?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Convolutional Block Attention Module (Woo et al. 2018): a channel gate σ(MLP(avgpool x) + MLP(maxpool x)) with one
 * shared MLP, then a spatial gate σ(BN(conv_k×k([max_c x', mean_c x']))) over the channel-gated x'.
 */
export class CBAM extends tf.layers.Layer {
  static className = 'CBAM';
  readonly ratio: number;
  readonly minUnits: number;
  readonly kernelSize: number;
  readonly spatialBatchNorm: boolean;
  readonly momentum: number;
  readonly epsilon: number;
  readonly seed: number | undefined;
  private w1!: tf.LayerVariable;
  private b1!: tf.LayerVariable;
  private w2!: tf.LayerVariable;
  private b2!: tf.LayerVariable;
  private sk!: tf.LayerVariable;
  private sb?: tf.LayerVariable;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: CbamArgs = {}) {
    super(args);
    this.ratio = positiveInt(args.ratio ?? 16, 'ratio', 'CBAM');
    this.minUnits = positiveInt(args.minUnits ?? 1, 'minUnits', 'CBAM');
    this.kernelSize = positiveInt(args.kernelSize ?? 7, 'kernelSize', 'CBAM');
    this.spatialBatchNorm = booleanArg(args.spatialBatchNorm ?? true, 'spatialBatchNorm', 'CBAM');
    this.momentum = numberIn(args.momentum ?? 0.99, 'momentum', 'CBAM', 0, 1);
    this.epsilon = numberIn(args.epsilon ?? 1e-5, 'epsilon', 'CBAM', 0, 1);
    this.seed = args.seed;
    if (this.kernelSize % 2 === 0) throw new Error(`CBAM: kernelSize must be odd, got ${this.kernelSize}`);
  }

  /** Configs saved before the batch-normalised gate existed have no `spatialBatchNorm` key: they keep the old gate. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({ ...config, spatialBatchNorm: config.spatialBatchNorm ?? false });
  }

  hiddenUnits(channels: number): number {
    return Math.max(this.minUnits, Math.floor(channels / this.ratio));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(inputShape, 'CBAM');
    const h = this.hiddenUnits(c);
    const k = this.kernelSize;
    this.w1 = this.addWeight('mlp1/kernel', [c, h], 'float32', tf.initializers.heNormal({ seed: this.seed }));
    this.b1 = this.addWeight('mlp1/bias', [h], 'float32', tf.initializers.zeros());
    this.w2 = this.addWeight('mlp2/kernel', [h, c], 'float32', tf.initializers.glorotUniform({ seed: nthSeed(this.seed, 1) }));
    this.b2 = this.addWeight('mlp2/bias', [c], 'float32', tf.initializers.zeros());
    this.sk = this.addWeight('spatial/kernel', [k, k, 2, 1], 'float32', tf.initializers.glorotUniform({ seed: nthSeed(this.seed, 2) }));
    if (this.spatialBatchNorm) {
      this.gamma = this.addWeight('spatial_bn/gamma', [1], 'float32', tf.initializers.ones());
      this.beta = this.addWeight('spatial_bn/beta', [1], 'float32', tf.initializers.zeros());
      this.movingMean = this.addWeight('spatial_bn/moving_mean', [1], 'float32', tf.initializers.zeros(), undefined, false);
      this.movingVariance = this.addWeight('spatial_bn/moving_variance', [1], 'float32', tf.initializers.ones(), undefined, false);
    } else {
      this.sb = this.addWeight('spatial/bias', [1], 'float32', tf.initializers.zeros());
    }
    this.built = true;
  }

  /** [n, c] channel gate σ(MLP(avg) + MLP(max)): one MLP pass over the stacked descriptors. */
  private channelGate(x: tf.Tensor4D): tf.Tensor2D {
    const pooled = tf.concat([globalPool(x, 'avg'), globalPool(x, 'max')], 0);
    const hidden = tf.relu(tf.add(tf.matMul(pooled, this.w1.read()), this.b1.read()));
    const mlp = tf.add(tf.matMul(hidden, this.w2.read()), this.b2.read());
    const [a, m] = tf.split(mlp, 2, 0);
    return tf.sigmoid(tf.add(a, m)) as tf.Tensor2D;
  }

  /** [n, h, w, 1] spatial gate over the channel-gated features. */
  private spatialGate(xc: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const mean = tf.mean(xc, 3, true);
    const max = tf.max(xc, 3, true);
    if (!this.spatialBatchNorm) {
      const conv = tf.conv2d(tf.concat([mean, max], 3) as tf.Tensor4D, this.sk.read() as tf.Tensor4D, 1, 'same');
      return tf.sigmoid(tf.add(conv, this.sb!.read())) as tf.Tensor4D;
    }
    const conv = tf.conv2d(tf.concat([max, mean], 3) as tf.Tensor4D, this.sk.read() as tf.Tensor4D, 1, 'same');
    const gamma = this.gamma!.read() as tf.Tensor1D;
    const beta = this.beta!.read() as tf.Tensor1D;
    if (!training) {
      return tf.sigmoid(tf.batchNorm(conv, this.movingMean!.read() as tf.Tensor1D, this.movingVariance!.read() as tf.Tensor1D, beta, gamma, this.epsilon));
    }
    const { y, mean: batchMean, variance } = batchNormTraining(conv, gamma, beta, this.epsilon);
    // tfjs-layers' rule (and this project's fused BatchNormalization): moving ← moving − (moving − batch)·(1 − momentum),
    // with the biased batch variance.
    tf.tidy(() => {
      const decay = 1 - this.momentum;
      const mm = this.movingMean!.read();
      const mv = this.movingVariance!.read();
      this.movingMean!.write(tf.sub(mm, tf.mul(tf.sub(mm, batchMean), decay)));
      this.movingVariance!.write(tf.sub(mv, tf.mul(tf.sub(mv, variance), decay)));
    });
    batchMean.dispose();
    variance.dispose();
    return tf.sigmoid(y) as tf.Tensor4D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, , , c] = x.shape;
      const xc = tf.mul(x, tf.reshape(this.channelGate(x), [n, 1, 1, c])) as tf.Tensor4D;
      return tf.mul(xc, this.spatialGate(xc, Boolean(kwargs?.['training'])));
    });
  }

  attentionMaps(x: tf.Tensor4D): AttentionMaps {
    const [n, h, w, c] = x.shape;
    const channel = this.channelGate(x);
    const xc = tf.mul(x, tf.reshape(channel, [n, 1, 1, c])) as tf.Tensor4D;
    return { channel, spatial: tf.reshape(this.spatialGate(xc, false), [n, h, w]) as tf.Tensor3D };
  }

  macs([h, w, c]: [number, number, number]): number {
    const hid = this.hiddenUnits(c);
    return 2 * (2 * c * hid) + h * w * c * 2 + h * w * this.kernelSize * this.kernelSize * 2 + (this.spatialBatchNorm ? h * w : 0);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), ratio: this.ratio, minUnits: this.minUnits, kernelSize: this.kernelSize,
      spatialBatchNorm: this.spatialBatchNorm,
      ...(this.spatialBatchNorm ? { momentum: this.momentum, epsilon: this.epsilon } : {}),
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(SqueezeExcite);
tf.serialization.registerClass(CBAM);

// Re-exported so that importing this module registers all four classes (the zoo in models/zoo.ts lists them).
export { PAM, GCBlock };
