/**
 * ResNet50 (He et al. 2016): a 7×7 stem convolution and 3×3 max-pool, then bottleneck stages of 3, 4, 6 and 3 blocks
 * (1×1 → 3×3 → 1×1 convolutions, 4× expansion, a projection shortcut where the shape changes). The stride sits on the
 * 3×3 convolution (torchvision's "v1.5"); convolutions have no bias, as each is followed by batch norm, so at 224×224×3
 * with 1000 classes the model has torchvision's 25,557,032 parameters (Keras' ResNet50 has 25,636,712: biases on every
 * convolution). Strides follow the input size (inputSizing.ts). Layer names are Keras': `conv1_conv`, `pool1_pool`,
 * `conv{2..5}_block{i}_{0..3}_{conv,bn}`, `…_add`, `…_out`.
 *
 * Attention (any kind of the zoo) is offered at the end of each stage (`attend(x, 'conv{2..5}', stage === 5)`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Attend, ImageShape3 } from './zoo';
import { checkInputShape, StridePlan } from './inputSizing';
import { LayerKit } from './layerKit';
import { makeDivisible } from './mobilenetv2';

type Sym = tf.SymbolicTensor;

export interface ResNet50Options {
  inputShape: ImageShape3;
  numClasses: number;
  /** Width multiplier of every layer. Default 1. */
  alpha?: number;
  /** 'auto' (default), '1' or '2': see inputSizing.ts. */
  stemStride?: string;
  dropout?: number;
  attend?: Attend;
  seed?: number;
  name?: string;
}

/** Blocks per stage and bottleneck width of each stage (the block outputs 4× that). */
export const RESNET50_STAGES = [
  { blocks: 3, filters: 64 },
  { blocks: 4, filters: 128 },
  { blocks: 6, filters: 256 },
  { blocks: 3, filters: 512 },
] as const;

export function buildResNet50(opts: ResNet50Options): tf.LayersModel {
  checkInputShape(opts.inputShape, 'ResNet50');
  const alpha = opts.alpha ?? 1;
  const attend: Attend = opts.attend ?? ((x) => x);
  const k = new LayerKit(opts.seed ?? 1);
  const plan = new StridePlan(opts.inputShape);

  const input = tf.input({ shape: opts.inputShape, name: 'image' });
  let x = k.conv(input, 'conv1_conv', { filters: makeDivisible(64 * alpha), kernelSize: 7, strides: plan.stem(opts.stemStride) });
  x = k.act(k.bn(x, 'conv1_bn'), 'relu', 'conv1_relu');
  const poolStride = plan.step();
  if (poolStride === 2) x = tf.layers.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Sym;

  let inC = makeDivisible(64 * alpha);
  RESNET50_STAGES.forEach((stage, si) => {
    const s = si + 2;
    const f = makeDivisible(stage.filters * alpha);
    for (let b = 1; b <= stage.blocks; b++) {
      // conv2's first block keeps the size: the stem's max-pool downsampled just before it.
      const stride = b === 1 && si > 0 ? plan.step() : 1;
      const p = `conv${s}_block${b}`;
      let shortcut = x;
      if (stride !== 1 || inC !== 4 * f) {
        shortcut = k.bn(k.conv(x, `${p}_0_conv`, { filters: 4 * f, kernelSize: 1, strides: stride }), `${p}_0_bn`);
      }
      let y = k.act(k.bn(k.conv(x, `${p}_1_conv`, { filters: f, kernelSize: 1 }), `${p}_1_bn`), 'relu', `${p}_1_relu`);
      y = k.act(k.bn(k.conv(y, `${p}_2_conv`, { filters: f, kernelSize: 3, strides: stride }), `${p}_2_bn`), 'relu', `${p}_2_relu`);
      y = k.bn(k.conv(y, `${p}_3_conv`, { filters: 4 * f, kernelSize: 1 }), `${p}_3_bn`);
      x = tf.layers.add({ name: `${p}_add` }).apply([shortcut, y]) as Sym;
      x = k.act(x, 'relu', `${p}_out`);
      inC = 4 * f;
    }
    x = attend(x, `conv${s}`, si === RESNET50_STAGES.length - 1);
  });

  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as Sym;
  const probs = k.classifier(x, opts.numClasses, opts.dropout ?? 0.2);
  return tf.model({ inputs: input, outputs: probs, name: opts.name ?? 'resnet50' });
}
