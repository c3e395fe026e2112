/**
 * EfficientNetB0 (Tan & Le 2019), laid out as Keras' `keras.applications.EfficientNetB0`: a 3×3 stem, seven stages of
 * MBConv blocks (1×1 expansion, depthwise k×k, squeeze-and-excitation with ratio 0.25 of the block's input channels,
 * 1×1 projection; swish everywhere), a 1×1 top convolution to 1280 channels. A block whose input and output match
 * adds its input back through drop-connect (stochastic depth): a Dropout layer with noise shape [batch, 1, 1, 1], which
 * zeroes the whole residual branch of a sample (and scales the rest by 1/keep) in training and is the identity at
 * inference, as in Keras. Its rate rises linearly over the 16 blocks from 0 to `dropConnect`·15/16. Strides follow
 * the input size (inputSizing.ts). Layer names are Keras': `stem_conv`, `block{1..7}{a,b,…}_{expand_conv, dwconv,
 * se_reduce, se_expand, se_excite, project_conv, drop, add, …}`, `top_conv`, `top_bn`, `top_activation`.
 *
 * Keras' model also normalises its input inside the network (Rescaling and a Normalization layer whose mean, variance
 * and count are 7 weights); this one takes the input as the data pipeline gives it, so at 224×224×3 with 1000 classes
 * it has 5,330,564 parameters against Keras' 5,330,571.
 *
 * Attention (any kind of the zoo) is offered after stages 2 to 7 (`attend(x, 'block{2..7}', false)`; not after the
 * first, full-resolution stage, whose 16 channels are too few to gate, as in MobileNetV2 here) and after the top
 * convolution (`attend(x, 'top', true)`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Attend, ImageShape3 } from './zoo';
import { checkInputShape, StridePlan } from './inputSizing';
import { LayerKit } from './layerKit';
import { makeDivisible } from './mobilenetv2';

type Sym = tf.SymbolicTensor;

export interface EfficientNetB0Options {
  inputShape: ImageShape3;
  numClasses: number;
  /** Width multiplier of every layer (EfficientNet's width coefficient). Default 1. */
  alpha?: number;
  /** 'auto' (default), '1' or '2': see inputSizing.ts. */
  stemStride?: string;
  /** Drop-connect rate reached at the last block. Default 0.2 (Keras). */
  dropConnect?: number;
  dropout?: number;
  attend?: Attend;
  seed?: number;
  name?: string;
}

/** One MBConv stage: depthwise kernel, repeats, output channels, expansion, first stride (at 224 px). */
export interface MBConvStage {
  kernel: number;
  repeats: number;
  filters: number;
  expand: number;
  stride: 1 | 2;
}

/** The B0 stages (Keras' DEFAULT_BLOCKS_ARGS). */
export const EFFICIENTNET_B0_STAGES: readonly MBConvStage[] = [
  { kernel: 3, repeats: 1, filters: 16, expand: 1, stride: 1 },
  { kernel: 3, repeats: 2, filters: 24, expand: 6, stride: 2 },
  { kernel: 5, repeats: 2, filters: 40, expand: 6, stride: 2 },
  { kernel: 3, repeats: 3, filters: 80, expand: 6, stride: 2 },
  { kernel: 5, repeats: 3, filters: 112, expand: 6, stride: 1 },
  { kernel: 5, repeats: 4, filters: 192, expand: 6, stride: 2 },
  { kernel: 3, repeats: 1, filters: 320, expand: 6, stride: 1 },
];

const SE_RATIO = 0.25;

export function buildEfficientNetB0(opts: EfficientNetB0Options): tf.LayersModel {
  checkInputShape(opts.inputShape, 'EfficientNetB0');
  const alpha = opts.alpha ?? 1;
  const dropConnect = opts.dropConnect ?? 0.2;
  const attend: Attend = opts.attend ?? ((x) => x);
  const k = new LayerKit(opts.seed ?? 1);
  const plan = new StridePlan(opts.inputShape);
  const swish = (x: Sym, name: string) => k.act(x, 'swish', name);

  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let inC = makeDivisible(32 * alpha);
  let x = k.conv(input, 'stem_conv', { filters: inC, kernelSize: 3, strides: plan.stem(opts.stemStride) });
  x = swish(k.bn(x, 'stem_bn'), 'stem_activation');

  const totalBlocks = EFFICIENTNET_B0_STAGES.reduce((n, s) => n + s.repeats, 0);
  let block = 0;
  EFFICIENTNET_B0_STAGES.forEach((stage, si) => {
    const outC = makeDivisible(stage.filters * alpha);
    for (let i = 0; i < stage.repeats; i++) {
      const p = `block${si + 1}${String.fromCharCode(97 + i)}`;
      const stride = i === 0 && stage.stride === 2 ? plan.step() : 1;
      let y = x;
      const expanded = inC * stage.expand;
      if (stage.expand !== 1) {
        y = swish(k.bn(k.conv(y, `${p}_expand_conv`, { filters: expanded, kernelSize: 1 }), `${p}_expand_bn`), `${p}_expand_activation`);
      }
      y = swish(k.bn(k.depthwise(y, `${p}_dwconv`, stage.kernel, stride), `${p}_bn`), `${p}_activation`);
      // Squeeze-and-excitation, part of every MBConv block (as Keras: global pool, two 1×1 convolutions with bias).
      const seUnits = Math.max(1, Math.floor(inC * SE_RATIO));
      let se = tf.layers.globalAveragePooling2d({ name: `${p}_se_squeeze` }).apply(y) as Sym;
      se = tf.layers.reshape({ name: `${p}_se_reshape`, targetShape: [1, 1, expanded] }).apply(se) as Sym;
      se = k.conv(se, `${p}_se_reduce`, { filters: seUnits, kernelSize: 1, useBias: true, activation: 'swish' });
      se = k.conv(se, `${p}_se_expand`, { filters: expanded, kernelSize: 1, useBias: true, activation: 'sigmoid' });
      y = tf.layers.multiply({ name: `${p}_se_excite` }).apply([y, se]) as Sym;
      y = k.bn(k.conv(y, `${p}_project_conv`, { filters: outC, kernelSize: 1 }), `${p}_project_bn`);
      if (stride === 1 && inC === outC) {
        const rate = (dropConnect * block) / totalBlocks;
        if (rate > 0) {
          // noiseShape [null, 1, 1, 1]: one keep/drop draw per sample, as Keras' EfficientNet.
          y = tf.layers.dropout({ name: `${p}_drop`, rate, noiseShape: [null, 1, 1, 1] as unknown as number[] }).apply(y) as Sym;
        }
        y = tf.layers.add({ name: `${p}_add` }).apply([y, x]) as Sym;
      }
      x = y;
      inC = outC;
      block++;
    }
    if (si > 0) x = attend(x, `block${si + 1}`, false);
  });

  x = k.conv(x, 'top_conv', { filters: makeDivisible(1280 * alpha), kernelSize: 1 });
  x = swish(k.bn(x, 'top_bn'), 'top_activation');
  x = attend(x, 'top', true);
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as Sym;
  const probs = k.classifier(x, opts.numClasses, opts.dropout ?? 0.2);
  return tf.model({ inputs: input, outputs: probs, name: opts.name ?? 'efficientnetb0' });
}
