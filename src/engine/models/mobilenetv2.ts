/**
 * MobileNetV2 (Sandler et al. 2018) sized for small inputs. Attention (any kind of the zoo) is offered where each
 * resolution stage ends (`attend(x, stage, false)`) and after the top convolution (`attend(x, 'top', true)`).
 * The classifier ends in a `logits` Dense layer followed by a `probs` softmax, so training and explainers can use
 * logits while saved models predict probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import type { Attend } from './zoo';

/** One MobileNetV2 stage: expansion t, output channels c, repeats n, first stride s. */
export interface Stage {
  t: number;
  c: number;
  n: number;
  s: number;
}

export interface MobileNetV2Options {
  /** [height, width, channels]. Default [28, 28, 1]. */
  inputShape?: [number, number, number];
  /** Default 10. */
  numClasses?: number;
  /** Width multiplier applied to every layer's channels. Default 1. */
  alpha?: number;
  /** Attention where stages end (see the file comment). Default: none. */
  attend?: Attend;
  /** Model name. Default 'mobilenetv2'. */
  name?: string;
  /** Dropout before the classifier. Default 0.2. */
  dropout?: number;
  /** Stages; by default chosen from the input size and stem stride (see the stage tables below). */
  stages?: Stage[];
  /** Channels of the top 1×1 convolution (before alpha). Default 256 for small inputs, 1280 otherwise. */
  topChannels?: number;
  /** Batch-norm moving-average momentum. Default 0.9 (short training runs). */
  bnMomentum?: number;
  /** Stride of the stem convolution. Default 1 for inputs up to 32 px, else 2. */
  stemStride?: number;
  /** Seed for the weight initialisers, so a build is reproducible. */
  seed?: number;
}

/** For inputs up to 32×32: stride-1 stem, two stride-2 stages, so 28×28 ends at 7×7. */
export const SMALL_INPUT_STAGES: Stage[] = [
  { t: 1, c: 16, n: 1, s: 1 },
  { t: 6, c: 24, n: 2, s: 2 },
  { t: 6, c: 32, n: 3, s: 2 },
  { t: 6, c: 64, n: 2, s: 1 },
  { t: 6, c: 96, n: 1, s: 1 },
];

/**
 * For inputs up to 32×32 behind a stride-2 stem: one stride-2 stage, so 28×28 still ends at 7×7 (a 4×4 final map
 * costs accuracy: ~99.45 % vs ~99.53 % MNIST test accuracy in a 10-epoch PyTorch mirror, five seeds), with narrower,
 * shorter late stages to keep the cost near 5 M MACs per image.
 */
export const SMALL_INPUT_STRIDE2_STAGES: Stage[] = [
  { t: 1, c: 16, n: 1, s: 1 },
  { t: 6, c: 24, n: 2, s: 2 },
  { t: 6, c: 32, n: 2, s: 1 },
  { t: 6, c: 48, n: 2, s: 1 },
];

/** The paper's stages (stride-2 stem), for inputs of 96 px and more. */
export const IMAGENET_STAGES: Stage[] = [
  { t: 1, c: 16, n: 1, s: 1 },
  { t: 6, c: 24, n: 2, s: 2 },
  { t: 6, c: 32, n: 3, s: 2 },
  { t: 6, c: 64, n: 4, s: 2 },
  { t: 6, c: 96, n: 3, s: 1 },
  { t: 6, c: 160, n: 3, s: 2 },
  { t: 6, c: 320, n: 1, s: 1 },
];

/** Channels rounded to a multiple of 8, never dropping more than 10 % (as in the reference implementation). */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

export function buildMobileNetV2(opts: MobileNetV2Options = {}): tf.LayersModel {
  const inputShape = opts.inputShape ?? [28, 28, 1];
  const [h, w, ch] = inputShape;
  if (![h, w, ch].every((d) => Number.isInteger(d) && d > 0) || ![1, 3].includes(ch)) {
    throw new Error(`MobileNetV2: inputShape must be [h, w, 1|3] with positive sizes, got ${JSON.stringify(inputShape)}`);
  }
  const numClasses = opts.numClasses ?? 10;
  const alpha = opts.alpha ?? 1;
  if (!(alpha > 0)) throw new Error(`MobileNetV2: alpha must be > 0, got ${alpha}`);
  const small = Math.min(h, w) <= 32;
  const stemStride = opts.stemStride ?? (small ? 1 : 2);
  const stages = opts.stages ?? (small ? (stemStride === 1 ? SMALL_INPUT_STAGES : SMALL_INPUT_STRIDE2_STAGES) : IMAGENET_STAGES);
  const attend: Attend = opts.attend ?? ((x) => x);
  const momentum = opts.bnMomentum ?? 0.9;
  let seed = opts.seed ?? 1;
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  const bn = (name: string) => tf.layers.batchNormalization({ name, momentum, epsilon: 1e-3 });
  const relu6 = (name: string) => tf.layers.activation({ activation: 'relu6', name });

  const input = tf.input({ shape: inputShape, name: 'image' });
  const stemChannels = makeDivisible(32 * alpha);
  let x = tf.layers
    .conv2d({ name: 'stem_conv', filters: stemChannels, kernelSize: 3, strides: stemStride, padding: 'same', useBias: false, kernelInitializer: init() })
    .apply(input) as tf.SymbolicTensor;
  x = relu6('stem_relu').apply(bn('stem_bn').apply(x)) as tf.SymbolicTensor;

  let inC = stemChannels;
  let block = 0;
  stages.forEach((stage, si) => {
    const outC = makeDivisible(stage.c * alpha);
    for (let i = 0; i < stage.n; i++) {
      const stride = i === 0 ? stage.s : 1;
      const p = `block${block}`;
      let y = x;
      if (stage.t !== 1) {
        y = tf.layers.conv2d({ name: `${p}_expand`, filters: inC * stage.t, kernelSize: 1, useBias: false, kernelInitializer: init() }).apply(y) as tf.SymbolicTensor;
        y = relu6(`${p}_expand_relu`).apply(bn(`${p}_expand_bn`).apply(y)) as tf.SymbolicTensor;
      }
      y = tf.layers.depthwiseConv2d({ name: `${p}_dw`, kernelSize: 3, strides: stride, padding: 'same', useBias: false, depthwiseInitializer: init() }).apply(y) as tf.SymbolicTensor;
      y = relu6(`${p}_dw_relu`).apply(bn(`${p}_dw_bn`).apply(y)) as tf.SymbolicTensor;
      y = tf.layers.conv2d({ name: `${p}_project`, filters: outC, kernelSize: 1, useBias: false, kernelInitializer: init() }).apply(y) as tf.SymbolicTensor;
      y = bn(`${p}_project_bn`).apply(y) as tf.SymbolicTensor;
      x = stride === 1 && inC === outC ? (tf.layers.add({ name: `${p}_add` }).apply([x, y]) as tf.SymbolicTensor) : y;
      inC = outC;
      block++;
    }
    // Attention where a resolution ends (not after the first, full-resolution stage: its features are too simple
    // to be worth gating).
    const lastAtThisResolution = si === stages.length - 1 || stages[si + 1].s !== 1;
    if (si > 0 && lastAtThisResolution) x = attend(x, `stage${si}`, false);
  });

  const topC = makeDivisible((opts.topChannels ?? (small ? 256 : 1280)) * Math.max(1, alpha));
  x = tf.layers.conv2d({ name: 'top_conv', filters: topC, kernelSize: 1, useBias: false, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  x = relu6('top_relu').apply(bn('top_bn').apply(x)) as tf.SymbolicTensor;
  x = attend(x, 'top', true);
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  // No seed: tfjs-layers' Dropout draws the same mask on every call when it has one.
  x = tf.layers.dropout({ name: 'dropout', rate: opts.dropout ?? 0.2 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: probs, name: opts.name ?? 'mobilenetv2' });
}
