/**
 * Faster paths for four standard tfjs-layers building blocks, installed at backend start-up.
 *
 * 1. A fused training-mode batch normalization for tfjs-layers' standard BatchNormalization layer.
 *
 * Why: the stock training path (moments → batchNorm) records ~10 full-size intermediates per layer on the gradient
 * tape and reduces over N,H,W with ops that transpose first on wasm. Measured on a CBAM-MobileNetV2 at batch 64:
 * 2.1 GB peak memory (batch 128 exhausted the wasm heap) and reductions as the largest kernel cost. This version
 * is one custom-gradient op that saves only its input and per-channel statistics, reduces with a full-window
 * average pool (XNNPACK on wasm, ~1 ms for 64×28×28×96, against ~20 ms for a sum over axis 0), and uses the
 * closed-form backward:
 *   dx = γ·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy.
 * On wasm, forward and backward are each one SIMD kernel instead (simdKernels.ts). It replaces the layer's `call` in
 * training mode only; inference and saved files are unchanged, so models stay standard TF.js/Keras layers models.
 *
 * 2. The 'relu6' activation as the single Relu6 kernel instead of tfjs-layers' minimum(6, relu(x)), which records two
 * full-size tensors per activation and runs two extra comparison passes in the backward pass.
 *
 * 3. Conv2D layers without bias or activation as the plain Conv2D op. tfjs-layers always calls the fused conv2d,
 * whose custom gradient computes the filter gradient together with the input gradient; the plain op's gradient is
 * computed per input on demand, so an explainer's ∂y/∂x no longer pays for filter gradients (they were 13 % of a
 * SmoothGrad-50 on the bundled model) and training skips the first layer's input gradient. Same values either way.
 *
 * 4. The ReLU layer with maxValue 6 (Keras's `ReLU(6.)`, as Keras applications' MobileNetV2 is written, e.g. the
 * nsfwjs model) as the Relu6 kernel too: tfjs-layers computes clipByValue(relu(x), 0, 6), whose gradient runs five
 * comparison and select passes per activation (a third of that model's input gradient on wasm). Same values, and the
 * same gradient (both pass dy at 6 and stop it at 0).
 */
import * as tf from '@tensorflow/tfjs';
import { hasFusedKernel } from './simdKernels';

interface BatchNormLayerFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

type CallFn = (this: BatchNormLayerFields, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * Per-channel mean of a [m, c] matrix as [1, c], by one average pool with an m×1 window. Not on the cpu backend,
 * whose AvgPoolGrad loops over the whole window for every input pixel (m² per channel: minutes for one ResNet50 step).
 */
function channelMean(x2: tf.Tensor, m: number, c: number): tf.Tensor2D {
  if (tf.getBackend() === 'cpu') return tf.mean(x2, 0, true) as tf.Tensor2D;
  return tf.reshape(tf.avgPool(tf.reshape(x2, [1, m, 1, c]) as tf.Tensor4D, [m, 1], [m, 1], 'valid'), [1, c]);
}

/** Training-mode batch norm over all axes but the last. Returns the output and the batch mean and (biased) variance. */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const c = x.shape[x.rank - 1];
  const m = x.size / c;
  let batchMean: tf.Tensor1D | undefined;
  let batchVar: tf.Tensor1D | undefined;
  const fused = hasFusedKernel('XaiBatchNormTraining');
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    if (fused) {
      // wasm: two SIMD kernels (simdKernels.ts) do the same in 3 + 2 passes over the activation instead of ~20.
      const attrs = { epsilon } as unknown as tf.NamedAttrMap;
      const [y, mean, variance] = tf.engine().runKernel('XaiBatchNormTraining', { x: xIn, gamma: g, beta: b }, attrs) as tf.Tensor[];
      // Clones: the caller disposes these, while the originals stay saved for the backward pass.
      batchMean = tf.keep(tf.clone(mean) as tf.Tensor1D);
      batchVar = tf.keep(tf.clone(variance) as tf.Tensor1D);
      save([xIn, mean, variance, g]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [xs, mu, v, gs] = saved;
          const inputs = { x: xs, dy: dy as tf.Tensor, mean: mu, variance: v, gamma: gs };
          return tf.engine().runKernel('XaiBatchNormTrainingGrad', inputs, attrs) as tf.Tensor[];
        },
      };
    }
    const x2 = tf.reshape(xIn, [m, c]);
    const mean = channelMean(x2, m, c);
    const centered = tf.sub(x2, mean);
    const variance = channelMean(tf.square(centered), m, c);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const y = tf.reshape(tf.add(tf.mul(centered, tf.mul(invStd, g)), b), xIn.shape);
    batchMean = tf.keep(tf.reshape(mean, [c]) as tf.Tensor1D);
    batchVar = tf.keep(tf.reshape(variance, [c]) as tf.Tensor1D);
    save([xIn, mean, invStd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, mu, is, gs] = saved;
        const dy2 = tf.reshape(dy as tf.Tensor, [m, c]);
        const xhat = tf.mul(tf.sub(tf.reshape(xs, [m, c]), mu), is);
        const meanDy = channelMean(dy2, m, c);
        const meanDyXhat = channelMean(tf.mul(dy2, xhat), m, c);
        const inner = tf.sub(dy2, tf.add(tf.mul(xhat, meanDyXhat), meanDy));
        const dx = tf.reshape(tf.mul(inner, tf.mul(gs, is)), xs.shape);
        return [dx, tf.reshape(tf.mul(meanDyXhat, m), [c]), tf.reshape(tf.mul(meanDy, m), [c])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, gamma, beta);
  return { y, mean: batchMean!, variance: batchVar! };
}

interface ConvLayerFields {
  rank: number;
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { getClassName(): string };
  strides: number[];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: number[];
}

let installed = false;

export function installFastLayers(): void {
  if (installed) return;
  installed = true;
  const relu6 = tf.layers.activation({ activation: 'relu6' }) as unknown as { activation: { apply(x: tf.Tensor): tf.Tensor } };
  const relu6Proto = Object.getPrototypeOf(relu6.activation) as { apply(x: tf.Tensor): tf.Tensor };
  relu6Proto.apply = (x: tf.Tensor) => tf.relu6(x);

  type LayerCall = (this: { maxValue?: number }, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  const reluProto = Object.getPrototypeOf(tf.layers.reLU({ maxValue: 6 })) as { call: LayerCall };
  const stockReluCall = reluProto.call;
  reluProto.call = function (this: { maxValue?: number }, inputs, kwargs) {
    if (this.maxValue !== 6) return stockReluCall.call(this, inputs, kwargs);
    return tf.relu6(Array.isArray(inputs) ? inputs[0] : inputs);
  };

  const convProto = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as { call: (this: ConvLayerFields, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[] };
  const stockConvCall = convProto.call;
  convProto.call = function (this: ConvLayerFields, inputs, kwargs) {
    if (this.rank !== 2 || this.bias || this.activation.getClassName() !== 'linear' || this.dataFormat !== 'channelsLast') {
      return stockConvCall.call(this, inputs, kwargs);
    }
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.strides as [number, number], this.padding, 'NHWC', this.dilationRate as [number, number]);
  };

  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: CallFn };
  const stockCall = proto.call;
  proto.call = function (this: BatchNormLayerFields, inputs, kwargs) {
    const training = Boolean(kwargs?.['training']);
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (!training || !lastAxis || !this.center || !this.scale || x.dtype !== 'float32') {
      return stockCall.call(this, inputs, kwargs);
    }
    const { y, mean, variance } = batchNormTraining(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.epsilon);
    // Same moving-average rule as tfjs-layers: moving -= (moving - batch) * (1 - momentum).
    tf.tidy(() => {
      const decay = 1 - this.momentum;
      const mm = this.movingMean.read();
      const mv = this.movingVariance.read();
      this.movingMean.write(tf.sub(mm, tf.mul(tf.sub(mm, mean), decay)));
      this.movingVariance.write(tf.sub(mv, tf.mul(tf.sub(mv, variance), decay)));
    });
    mean.dispose();
    variance.dispose();
    return y;
  };
}
