/**
 * Position attention module of DANet (Fu et al. 2019, "Dual Attention Network for Scene Segmentation"):
 *   q = conv₁ₓ₁(x) (C → C/r), k = conv₁ₓ₁(x) (C → C/r), v = conv₁ₓ₁(x) (C → C), all with bias;
 *   A = softmax_j(q_i · k_j) over the N = H·W positions j, without scaling;
 *   out_i = γ · Σ_j A_ij v_j + x_i, with a scalar γ initialised to 0 (the block starts as the identity).
 * r = 8 as in the paper's code (in_dim // 8).
 */
import * as tf from '@tensorflow/tfjs';
import { channelsOf, nthSeed, oneTensor, pointwise, positiveInt, type AttentionMaps, type Kwargs } from './attentionCommon';

export interface PamArgs {
  /** Seed for the weight initialisers, so that a build is reproducible. Default: unseeded. */
  seed?: number;
  /** Reduction ratio of the query and key projections (width C/r). Default 8 (Fu et al.). */
  ratio?: number;
  /** Smallest query/key width. Default 1. */
  minUnits?: number;
  name?: string;
  trainable?: boolean;
}

export class PAM extends tf.layers.Layer {
  static className = 'PAM';
  readonly ratio: number;
  readonly minUnits: number;
  readonly seed: number | undefined;
  private wq!: tf.LayerVariable;
  private bq!: tf.LayerVariable;
  private wk!: tf.LayerVariable;
  private bk!: tf.LayerVariable;
  private wv!: tf.LayerVariable;
  private bv!: tf.LayerVariable;
  private gamma!: tf.LayerVariable;

  constructor(args: PamArgs = {}) {
    super(args);
    this.ratio = positiveInt(args.ratio ?? 8, 'ratio', 'PAM');
    this.minUnits = positiveInt(args.minUnits ?? 1, 'minUnits', 'PAM');
    this.seed = args.seed;
  }

  keyUnits(channels: number): number {
    return Math.max(this.minUnits, Math.floor(channels / this.ratio));
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(inputShape, 'PAM');
    const k = this.keyUnits(c);
    const init = (i: number) => tf.initializers.glorotUniform({ seed: nthSeed(this.seed, i) });
    this.wq = this.addWeight('query/kernel', [1, 1, c, k], 'float32', init(0));
    this.bq = this.addWeight('query/bias', [k], 'float32', tf.initializers.zeros());
    this.wk = this.addWeight('key/kernel', [1, 1, c, k], 'float32', init(1));
    this.bk = this.addWeight('key/bias', [k], 'float32', tf.initializers.zeros());
    this.wv = this.addWeight('value/kernel', [1, 1, c, c], 'float32', init(2));
    this.bv = this.addWeight('value/bias', [c], 'float32', tf.initializers.zeros());
    this.gamma = this.addWeight('gamma', [1], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  /** [n, N, N] attention, row i = softmax over positions j of q_i · k_j. */
  private attention(x: tf.Tensor4D): tf.Tensor3D {
    const [n, h, w] = x.shape;
    const k = this.wq.shape[3] as number;
    const q = tf.reshape(pointwise(x, this.wq.read(), this.bq.read()), [n, h * w, k]);
    const key = tf.reshape(pointwise(x, this.wk.read(), this.bk.read()), [n, h * w, k]);
    return tf.softmax(tf.matMul(q, key, false, true)) as tf.Tensor3D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [n, h, w, c] = x.shape;
      const v = tf.reshape(pointwise(x, this.wv.read(), this.bv.read()), [n, h * w, c]);
      const out = tf.reshape(tf.matMul(this.attention(x), v), [n, h, w, c]);
      return tf.add(tf.mul(out, this.gamma.read()), x);
    });
  }

  attentionMaps(x: tf.Tensor4D): AttentionMaps {
    return { positions: this.attention(x) };
  }

  /** Projections N·(2Ck + C²), energies N²·k, weighted sum N²·C. */
  macs([h, w, c]: [number, number, number]): number {
    const n = h * w;
    const k = this.keyUnits(c);
    return n * (2 * c * k + c * c) + n * n * (k + c) + n * c;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ratio: this.ratio, minUnits: this.minUnits, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

tf.serialization.registerClass(PAM);
