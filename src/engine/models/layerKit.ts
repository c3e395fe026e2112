/**
 * The layer calls EfficientNetB0, ResNet50 and VGG16 are written with: seeded He-normal convolutions, batch norm with
 * the project's short-run momentum, and the classifier every zoo model ends in (dropout → `logits` Dense → `probs`
 * softmax, so training and explainers can use logits while saved models predict probabilities).
 */
import * as tf from '@tensorflow/tfjs';

type Sym = tf.SymbolicTensor;

export interface ConvArgs {
  filters: number;
  kernelSize: number;
  strides?: number;
  /** Default false: every convolution here is followed by batch norm, except VGG16's without it. */
  useBias?: boolean;
  activation?: 'relu' | 'swish' | 'sigmoid';
}

export class LayerKit {
  private seed: number;

  constructor(seed: number, private readonly bnMomentum = 0.9) {
    this.seed = seed;
  }

  /** The next seeded He-normal initializer, so a build is reproducible. */
  heNormal(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.seed++ });
  }

  conv(x: Sym, name: string, a: ConvArgs): Sym {
    return tf.layers.conv2d({
      name, filters: a.filters, kernelSize: a.kernelSize, strides: a.strides ?? 1, padding: 'same', useBias: a.useBias ?? false,
      activation: a.activation, kernelInitializer: this.heNormal(),
    }).apply(x) as Sym;
  }

  depthwise(x: Sym, name: string, kernelSize: number, strides: number): Sym {
    return tf.layers.depthwiseConv2d({ name, kernelSize, strides, padding: 'same', useBias: false, depthwiseInitializer: this.heNormal() }).apply(x) as Sym;
  }

  /** Batch norm, epsilon 1e-3 (Keras' default). */
  bn(x: Sym, name: string): Sym {
    return tf.layers.batchNormalization({ name, momentum: this.bnMomentum, epsilon: 1e-3 }).apply(x) as Sym;
  }

  act(x: Sym, activation: 'relu' | 'swish', name: string): Sym {
    return tf.layers.activation({ activation, name }).apply(x) as Sym;
  }

  /** Dropout (unseeded: tfjs-layers' Dropout draws the same mask on every call when it has a seed), `logits`, `probs`. */
  classifier(features: Sym, numClasses: number, dropout: number): Sym {
    const x = tf.layers.dropout({ name: 'dropout', rate: dropout }).apply(features) as Sym;
    const logits = tf.layers.dense({ name: 'logits', units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: this.seed++ }) }).apply(x) as Sym;
    return tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as Sym;
  }
}
