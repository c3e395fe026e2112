/**
 * VGG16 (Simonyan & Zisserman 2015): thirteen 3×3 convolutions in five blocks of 2, 2, 3, 3 and 3 (64, 128, 256, 512,
 * 512 channels), each block closed by a 2×2 max-pool, then a classifier. Options:
 * - `batchNorm` (default true): batch norm after every convolution (convolutions then have no bias). The paper has
 *   none; with it the network trains from scratch without the paper's staged initialisation.
 * - `head`: `gap` (default): global average pooling, then the zoo's classifier; or `fc`: the paper's flatten → FC 4096
 *   → FC 4096 (ReLU, dropout) → classifier, 138,357,544 parameters at 224×224×3 with 1000 classes, of which
 *   102,764,544 are the first FC layer's weights over a 7×7×512 map (this is why `gap` is the default: 15,245,800
 *   parameters with batch norm, 15,240,168 without, at 224×224×3 with 1000 classes).
 * Pools follow the input size (inputSizing.ts: a pool is left out once it would take the map under 7 px); there is no
 * strided stem. Layer names are Keras': `block{b}_conv{i}`, `block{b}_pool`, `fc1`, `fc2`; with batch norm
 * `block{b}_bn{i}` and `block{b}_relu{i}`.
 *
 * Attention (any kind of the zoo) is offered at the end of blocks 2 to 5, after the block's pool
 * (`attend(x, 'block{2..5}', block === 5)`; not after the first, full-resolution block).
 */
import * as tf from '@tensorflow/tfjs';
import type { Attend, ImageShape3 } from './zoo';
import { checkInputShape, StridePlan } from './inputSizing';
import { LayerKit } from './layerKit';
import { makeDivisible } from './mobilenetv2';

type Sym = tf.SymbolicTensor;

export interface VGG16Options {
  inputShape: ImageShape3;
  numClasses: number;
  /** Width multiplier of every layer (the FC layers' 4096 too). Default 1. */
  alpha?: number;
  /** Default true. */
  batchNorm?: boolean;
  /** Default 'gap'. */
  head?: 'gap' | 'fc';
  dropout?: number;
  attend?: Attend;
  seed?: number;
  name?: string;
}

/** Convolutions per block and their channels. */
export const VGG16_BLOCKS = [
  { convs: 2, filters: 64 },
  { convs: 2, filters: 128 },
  { convs: 3, filters: 256 },
  { convs: 3, filters: 512 },
  { convs: 3, filters: 512 },
] as const;

export function buildVGG16(opts: VGG16Options): tf.LayersModel {
  checkInputShape(opts.inputShape, 'VGG16');
  const alpha = opts.alpha ?? 1;
  const batchNorm = opts.batchNorm ?? true;
  const attend: Attend = opts.attend ?? ((x) => x);
  const dropout = opts.dropout ?? 0.2;
  const k = new LayerKit(opts.seed ?? 1);
  const plan = new StridePlan(opts.inputShape);

  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x: Sym = input;
  VGG16_BLOCKS.forEach((block, bi) => {
    const b = bi + 1;
    const filters = makeDivisible(block.filters * alpha);
    for (let i = 1; i <= block.convs; i++) {
      if (batchNorm) {
        x = k.conv(x, `block${b}_conv${i}`, { filters, kernelSize: 3 });
        x = k.act(k.bn(x, `block${b}_bn${i}`), 'relu', `block${b}_relu${i}`);
      } else {
        x = k.conv(x, `block${b}_conv${i}`, { filters, kernelSize: 3, useBias: true, activation: 'relu' });
      }
    }
    if (plan.step() === 2) x = tf.layers.maxPooling2d({ name: `block${b}_pool`, poolSize: 2, strides: 2, padding: 'same' }).apply(x) as Sym;
    if (bi > 0) x = attend(x, `block${b}`, b === VGG16_BLOCKS.length);
  });

  if ((opts.head ?? 'gap') === 'fc') {
    const units = makeDivisible(4096 * alpha);
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
    x = tf.layers.dense({ name: 'fc1', units, activation: 'relu', kernelInitializer: k.heNormal() }).apply(x) as Sym;
    x = tf.layers.dropout({ name: 'fc1_dropout', rate: dropout }).apply(x) as Sym;
    x = tf.layers.dense({ name: 'fc2', units, activation: 'relu', kernelInitializer: k.heNormal() }).apply(x) as Sym;
  } else {
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as Sym;
  }
  const probs = k.classifier(x, opts.numClasses, dropout);
  return tf.model({ inputs: input, outputs: probs, name: opts.name ?? 'vgg16' });
}
