/**
 * The model zoo: every backbone and every attention kind, each declared once. Architectures are generated as
 * backbone × {none, attention…} ("mobilenetv2", "cbam-mobilenetv2", …); nothing else lists them. A backbone calls
 * `attend(x, stage, last)` where each of its stages ends; the build decides from the `attach` option whether attention
 * goes there (`every` stage) or only after the `last` one.
 */
import * as tf from '@tensorflow/tfjs';
import type { Descriptor, OptionSchema, OptionValues } from '../../shared/descriptors';
import { XaiLensError } from '../errors';
import { resolveOptions } from '../options';
import { buildMobileNetV2 } from './mobilenetv2';
import { buildEfficientNetB0 } from './efficientnetb0';
import { buildResNet50 } from './resnet50';
import { buildVGG16 } from './vgg16';
import { STEM_STRIDE_OPTION, WIDTH_OPTION } from './inputSizing';
import { CBAM, GCBlock, PAM, SqueezeExcite } from './layers/attention';

export type ImageShape3 = [number, number, number];

/** Attention after a stage's output `x` (a no-op where the build attaches none). `last`: the backbone's last stage. */
export type Attend = (x: tf.SymbolicTensor, stage: string, last: boolean) => tf.SymbolicTensor;

export interface BackboneArgs {
  inputShape: ImageShape3;
  numClasses: number;
  /** Dropout before the classifier. */
  dropout: number;
  seed: number;
  /** The backbone's own options, resolved against its schema. */
  options: OptionValues;
  attend: Attend;
  /** The model's name. */
  name: string;
}

export interface BackboneSpec extends Descriptor {
  /** Where the architecture comes from, for cards and docs. */
  paper: string;
  /** Builds a classifier ending in a `logits` Dense layer and a `probs` softmax. */
  build(args: BackboneArgs): tf.LayersModel;
  /**
   * Options the training presets (train, bench:zoo) give this backbone over their own: a width at which a 28×28 model
   * costs 4–18 M MACs per image, so the whole grid trains in one sitting on two cores.
   */
  zooOptions?: OptionValues;
}

export interface AttentionArgs {
  name: string;
  seed: number;
  /** [h, w, c] of the tensor the block attends over. */
  inputShape: ImageShape3;
  /** The attention kind's own options, resolved against its schema. */
  options: OptionValues;
}

export interface AttentionSpec extends Descriptor {
  paper: string;
  /** The tfjs-layers class name of the block, as saved in model.json. */
  className: string;
  create(args: AttentionArgs): tf.layers.Layer;
}

export const BACKBONES: readonly BackboneSpec[] = [
  {
    id: 'mobilenetv2',
    label: 'MobileNetV2',
    description: 'MobileNetV2 (inverted residuals), sized for small inputs',
    paper: 'Sandler et al. 2018',
    // The same two knobs as the backbones of inputSizing.ts, so one CLI flag means one thing (checked by a test).
    options: { alpha: WIDTH_OPTION, stemStride: STEM_STRIDE_OPTION },
    build: (a) => buildMobileNetV2({
      inputShape: a.inputShape, numClasses: a.numClasses, dropout: a.dropout, seed: a.seed, attend: a.attend, name: a.name,
      alpha: a.options.alpha as number,
      stemStride: a.options.stemStride === 'auto' ? undefined : Number(a.options.stemStride),
    }),
  },
  {
    id: 'efficientnetb0',
    label: 'EfficientNetB0',
    description: 'EfficientNetB0 (MBConv with squeeze-and-excitation, swish, drop-connect), strides fitted to the input',
    paper: 'Tan & Le 2019',
    options: {
      alpha: WIDTH_OPTION,
      stemStride: STEM_STRIDE_OPTION,
      dropConnect: {
        type: 'number', default: 0.2, min: 0, max: 0.9,
        description: 'drop-connect (stochastic depth) rate of the last block, rising linearly from 0 over the blocks',
      },
    },
    zooOptions: { alpha: 0.125 },
    build: (a) => buildEfficientNetB0({
      inputShape: a.inputShape, numClasses: a.numClasses, dropout: a.dropout, seed: a.seed, attend: a.attend, name: a.name,
      alpha: a.options.alpha as number, stemStride: a.options.stemStride as string, dropConnect: a.options.dropConnect as number,
    }),
  },
  {
    id: 'resnet50',
    label: 'ResNet50',
    description: 'ResNet50 (bottleneck stages 3-4-6-3), strides fitted to the input',
    paper: 'He et al. 2016',
    options: { alpha: WIDTH_OPTION, stemStride: STEM_STRIDE_OPTION },
    zooOptions: { alpha: 0.125 },
    build: (a) => buildResNet50({
      inputShape: a.inputShape, numClasses: a.numClasses, dropout: a.dropout, seed: a.seed, attend: a.attend, name: a.name,
      alpha: a.options.alpha as number, stemStride: a.options.stemStride as string,
    }),
  },
  {
    id: 'vgg16',
    label: 'VGG16',
    description: 'VGG16 (13 convolutions), pools fitted to the input',
    paper: 'Simonyan & Zisserman 2015',
    options: {
      alpha: WIDTH_OPTION,
      batchNorm: { type: 'boolean', default: true, description: 'batch norm after every convolution (the paper has none)' },
      head: {
        type: 'enum', default: 'gap', values: ['gap', 'fc'],
        description: "classifier: global average pooling (gap), or the paper's two 4096-unit FC layers (fc)",
      },
    },
    zooOptions: { alpha: 0.125 },
    build: (a) => buildVGG16({
      inputShape: a.inputShape, numClasses: a.numClasses, dropout: a.dropout, seed: a.seed, attend: a.attend, name: a.name,
      alpha: a.options.alpha as number, batchNorm: a.options.batchNorm as boolean, head: a.options.head as 'gap' | 'fc',
    }),
  },
];

/** The two options every attention kind's bottleneck has: its reduction ratio r (width C/r) and smallest width. */
function bottleneckOptions(reduction: number, what: string): OptionSchema {
  return {
    reduction: { type: 'integer', default: reduction, min: 1, max: 256, description: `reduction ratio r of ${what} (width C/r)` },
    minUnits: { type: 'integer', default: 1, min: 1, max: 4096, description: `smallest width of ${what}` },
  };
}

export const ATTENTIONS: readonly AttentionSpec[] = [
  {
    id: 'se',
    label: 'SE',
    description: 'Squeeze-and-Excitation channel gates',
    paper: 'Hu et al. 2018',
    className: SqueezeExcite.className,
    options: {
      ...bottleneckOptions(16, 'the excitation bottleneck'),
    },
    create: (a) => new SqueezeExcite({ name: a.name, seed: a.seed, ratio: a.options.reduction as number, minUnits: a.options.minUnits as number }),
  },
  {
    id: 'cbam',
    label: 'CBAM',
    description: 'CBAM: channel gates, then a spatial gate',
    paper: 'Woo et al. 2018',
    className: CBAM.className,
    options: {
      ...bottleneckOptions(16, 'the shared MLP'),
      kernelSize: {
        type: 'integer', default: 7, min: 1, max: 15,
        description: 'side of the spatial-gate convolution (odd; 3 is used on maps of 7×7 or less)',
      },
      spatialBatchNorm: {
        type: 'boolean', default: true,
        description: 'the published spatial gate σ(BN(conv)); false: the earlier σ(conv + b) the bundled model was trained with',
      },
    },
    create: (a) => new CBAM({
      name: a.name, seed: a.seed, ratio: a.options.reduction as number, minUnits: a.options.minUnits as number,
      kernelSize: Math.min(a.inputShape[0], a.inputShape[1]) <= 7 ? 3 : (a.options.kernelSize as number),
      spatialBatchNorm: a.options.spatialBatchNorm as boolean,
    }),
  },
  {
    id: 'pam',
    label: 'PAM',
    description: 'DANet position attention: every position attends to every other',
    paper: 'Fu et al. 2019',
    className: PAM.className,
    options: {
      ...bottleneckOptions(8, 'the query and key projections'),
    },
    create: (a) => new PAM({ name: a.name, seed: a.seed, ratio: a.options.reduction as number, minUnits: a.options.minUnits as number }),
  },
  {
    id: 'gc',
    label: 'GC',
    description: 'GCNet global context: softmax-pooled context added to every position',
    paper: 'Cao et al. 2019',
    className: GCBlock.className,
    options: {
      ...bottleneckOptions(16, 'the context transform'),
    },
    create: (a) => new GCBlock({ name: a.name, seed: a.seed, ratio: a.options.reduction as number, minUnits: a.options.minUnits as number }),
  },
];

/** Options every architecture with attention has, beside its backbone's and its attention kind's. */
export const ATTACH_OPTION: OptionSchema = {
  attach: { type: 'enum', default: 'last', values: ['last', 'every'], description: 'attention after the last stage only, or after every stage' },
};

export interface BuildOptions {
  inputShape: ImageShape3;
  numClasses: number;
  /** Default 0.2. */
  dropout?: number;
  /** Seed of the weight initialisers, so a build is reproducible. Default 1. */
  seed?: number;
  /** The architecture's options (its backbone's, its attention kind's and `attach`); the rest keep their defaults. */
  options?: Record<string, unknown>;
}

export interface Architecture {
  /** "mobilenetv2", "cbam-mobilenetv2", … */
  id: string;
  label: string;
  description: string;
  backbone: BackboneSpec;
  attention?: AttentionSpec;
  /** The backbone's options, the attention kind's and `attach`, in one schema (keys never collide: checked by a test). */
  options: OptionSchema;
  build(opts: BuildOptions): tf.LayersModel;
}

function architecture(backbone: BackboneSpec, attention: AttentionSpec | undefined): Architecture {
  const id = attention ? `${attention.id}-${backbone.id}` : backbone.id;
  const options: OptionSchema = attention ? { ...backbone.options, ...attention.options, ...ATTACH_OPTION } : backbone.options;
  return {
    id,
    label: attention ? `${attention.label}-${backbone.label}` : backbone.label,
    description: attention ? `${backbone.description}, with ${attention.description}` : backbone.description,
    backbone,
    attention,
    options,
    build(opts) {
      const values = resolveOptions(options, opts.options, id);
      const pick = (schema: OptionSchema) => Object.fromEntries(Object.keys(schema).map((k) => [k, values[k]]));
      let seed = opts.seed ?? 1;
      const attend: Attend = (x, stage, last) => {
        if (!attention || (values.attach === 'last' && !last)) return x;
        const inputShape = x.shape.slice(1) as ImageShape3;
        const layer = attention.create({ name: `${stage}_${attention.id}`, seed: (seed += 3), inputShape, options: pick(attention.options) });
        return layer.apply(x) as tf.SymbolicTensor;
      };
      return backbone.build({
        inputShape: opts.inputShape, numClasses: opts.numClasses, dropout: opts.dropout ?? 0.2, seed, options: pick(backbone.options), attend, name: id,
      });
    },
  };
}

export const ARCHITECTURES: readonly Architecture[] = BACKBONES.flatMap((b) => [architecture(b, undefined), ...ATTENTIONS.map((a) => architecture(b, a))]);

export function getArchitecture(id: string): Architecture {
  const arch = ARCHITECTURES.find((a) => a.id === id.trim().toLowerCase());
  if (!arch) throw new XaiLensError(`unknown model "${id}"; available: ${ARCHITECTURES.map((a) => a.id).join(', ')}`);
  return arch;
}
