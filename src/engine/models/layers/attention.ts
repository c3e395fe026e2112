/**
 * Attention blocks as serializable tfjs-layers custom layers. Both are self-contained (their own weights), so a
 * saved model loads anywhere these classes are registered (importing this module registers them).
 *
 * Global pooling uses avgPool/maxPool with a full-size window rather than mean/max over axes [1, 2]: on the wasm
 * backend those run on XNNPACK and have native gradients, while axis reductions transpose first.
 */
import * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;

function oneTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 4) throw new Error(`attention layers expect a 4-D NHWC input, got shape [${x.shape.join(', ')}]`);
  return x as tf.Tensor4D;
}

function channelsOf(inputShape: tf.Shape | tf.Shape[], layer: string): number {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  const c = shape[shape.length - 1];
  if (shape.length !== 4 || c == null) {
    throw new Error(`${layer} expects a 4-D NHWC input with known channels, got shape ${JSON.stringify(shape)}`);
  }
  return c;
}

function positiveInt(value: unknown, name: string, layer: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${layer}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** [N,H,W,C] → [N,C] by a full-window pool. */
function globalPool(x: tf.Tensor4D, kind: 'avg' | 'max'): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const pooled = kind === 'avg' ? tf.avgPool(x, [h, w], [h, w], 'valid') : tf.maxPool(x, [h, w], [h, w], 'valid');
  return tf.reshape(pooled, [n, c]);
}

export interface SqueezeExciteArgs {
  /** Seed for the weight initialisers, so that a build is reproducible. Default: unseeded. */
  seed?: number;
  /** Channel reduction ratio of the bottleneck. Default 8. */
  ratio?: number;
  /** Smallest bottleneck width. Default 8. */
  minUnits?: number;
  name?: string;
  trainable?: boolean;
}

/** Squeeze-and-Excitation (Hu et al. 2018): channel gates from a bottleneck MLP over global average pooling. */
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
    this.ratio = positiveInt(args.ratio ?? 8, 'ratio', 'SqueezeExcite');
    this.minUnits = positiveInt(args.minUnits ?? 8, 'minUnits', 'SqueezeExcite');
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
    this.w2 = this.addWeight('fc2/kernel', [h, c], 'float32', tf.initializers.glorotUniform({ seed: this.seed === undefined ? undefined : this.seed + 1 }));
    this.b2 = this.addWeight('fc2/bias', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, , , c] = x.shape;
      const s = globalPool(x, 'avg');
      const hidden = tf.relu(tf.add(tf.matMul(s, this.w1.read()), this.b1.read()));
      const gate = tf.sigmoid(tf.add(tf.matMul(hidden, this.w2.read()), this.b2.read()));
      return tf.mul(x, tf.reshape(gate, [n, 1, 1, c]));
    });
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
  /** Channel reduction ratio of the shared MLP. Default 8. */
  ratio?: number;
  /** Smallest hidden width of the MLP. Default 8. */
  minUnits?: number;
  /** Side of the spatial-attention convolution. Default 7 (Woo et al. 2018); use 3 on maps of 7×7 or less. */
  kernelSize?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Convolutional Block Attention Module (Woo et al. 2018): channel attention from a shared MLP over average- and
 * max-pooled features, then spatial attention from a convolution over channel-wise mean and max maps.
 */
export class CBAM extends tf.layers.Layer {
  static className = 'CBAM';
  readonly ratio: number;
  readonly minUnits: number;
  readonly kernelSize: number;
  readonly seed: number | undefined;
  private w1!: tf.LayerVariable;
  private b1!: tf.LayerVariable;
  private w2!: tf.LayerVariable;
  private b2!: tf.LayerVariable;
  private sk!: tf.LayerVariable;
  private sb!: tf.LayerVariable;

  constructor(args: CbamArgs = {}) {
    super(args);
    this.ratio = positiveInt(args.ratio ?? 8, 'ratio', 'CBAM');
    this.minUnits = positiveInt(args.minUnits ?? 8, 'minUnits', 'CBAM');
    this.kernelSize = positiveInt(args.kernelSize ?? 7, 'kernelSize', 'CBAM');
    this.seed = args.seed;
    if (this.kernelSize % 2 === 0) throw new Error(`CBAM: kernelSize must be odd, got ${this.kernelSize}`);
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
    this.w2 = this.addWeight('mlp2/kernel', [h, c], 'float32', tf.initializers.glorotUniform({ seed: this.seed === undefined ? undefined : this.seed + 1 }));
    this.b2 = this.addWeight('mlp2/bias', [c], 'float32', tf.initializers.zeros());
    this.sk = this.addWeight('spatial/kernel', [k, k, 2, 1], 'float32', tf.initializers.glorotUniform({ seed: this.seed === undefined ? undefined : this.seed + 2 }));
    this.sb = this.addWeight('spatial/bias', [1], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, , , c] = x.shape;
      // Channel attention: one MLP pass over the stacked avg- and max-pooled descriptors.
      const pooled = tf.concat([globalPool(x, 'avg'), globalPool(x, 'max')], 0);
      const hidden = tf.relu(tf.add(tf.matMul(pooled, this.w1.read()), this.b1.read()));
      const mlp = tf.add(tf.matMul(hidden, this.w2.read()), this.b2.read());
      const [a, m] = tf.split(mlp, 2, 0);
      const channelGate = tf.reshape(tf.sigmoid(tf.add(a, m)), [n, 1, 1, c]);
      const xc = tf.mul(x, channelGate);
      // Spatial attention over the channel-wise mean and max maps.
      const maps = tf.concat([tf.mean(xc, 3, true), tf.max(xc, 3, true)], 3) as tf.Tensor4D;
      const conv = tf.conv2d(maps, this.sk.read() as tf.Tensor4D, 1, 'same');
      const spatialGate = tf.sigmoid(tf.add(conv, this.sb.read()));
      return tf.mul(xc, spatialGate);
    });
  }

  macs([h, w, c]: [number, number, number]): number {
    const hid = this.hiddenUnits(c);
    return 2 * (2 * c * hid) + h * w * c * 2 + h * w * this.kernelSize * this.kernelSize * 2;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), ratio: this.ratio, minUnits: this.minUnits, kernelSize: this.kernelSize,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(SqueezeExcite);
tf.serialization.registerClass(CBAM);

export const ATTENTION_LAYERS = { se: SqueezeExcite, cbam: CBAM } as const;
export type AttentionKind = keyof typeof ATTENTION_LAYERS;
