/**
 * Every architecture the engine can build, by name. Later families (EfficientNetB0, ResNet50, VGG16) and attention
 * kinds (PAM, GC) are added by appending an entry here; nothing else dispatches on model names.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { buildMobileNetV2 } from './mobilenetv2';
import type { AttentionKind } from './layers/attention';

export interface BuildOptions {
  inputShape: [number, number, number];
  numClasses: number;
  /** Width multiplier. Default 1. */
  alpha?: number;
  dropout?: number;
  /** Stem stride (1 or 2); default chosen from the input size. */
  stemStride?: number;
  seed?: number;
}

export interface ArchitectureSpec {
  name: string;
  description: string;
  attention: 'none' | AttentionKind;
  build(opts: BuildOptions): tf.LayersModel;
}

const mobileNet = (attention: 'none' | AttentionKind, description: string): ArchitectureSpec => ({
  name: attention === 'none' ? 'mobilenetv2' : `${attention}-mobilenetv2`,
  description,
  attention,
  build: (o) => buildMobileNetV2({ ...o, attention }),
});

export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  mobileNet('none', 'MobileNetV2 sized for small inputs'),
  mobileNet('se', 'MobileNetV2 with Squeeze-and-Excitation blocks'),
  mobileNet('cbam', 'MobileNetV2 with CBAM (channel + spatial attention) blocks'),
];

export function getArchitecture(name: string): ArchitectureSpec {
  const spec = ARCHITECTURES.find((a) => a.name === name.toLowerCase());
  if (!spec) {
    throw new XaiLensError(`unknown model "${name}"; available: ${ARCHITECTURES.map((a) => a.name).join(', ')}`);
  }
  return spec;
}
