/**
 * Fine-tuning a trained classifier on new classes: the head (everything after the last 4-D feature map) is replaced by
 * global average pooling, dropout and a new `logits` Dense + `probs` softmax for the new classes, optionally behind
 * an attention block of the zoo (ATTENTIONS). Which layers train when is a FreezePlan for the trainer: by default the
 * head alone first, then everything.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import { resolveOptions } from '../options';
import { ATTENTIONS, getArchitecture, type ImageShape3 } from '../models/zoo';
import type { ModelCard } from '../modelCard';
import type { FreezePlan } from './prepare';

export interface NewHead {
  model: tf.LayersModel;
  /** Layers of the base the new model keeps (its backbone), in model order, input layer excluded. */
  backboneLayers: string[];
  /** Layers added by the head (attention, pooling, dropout, logits, softmax). */
  headLayers: string[];
}

export interface HeadOptions {
  numClasses: number;
  /** An attention kind id of the zoo, or 'none'. Default 'none'. */
  attention?: string;
  /** The attention kind's options (checked against its schema). */
  attentionOptions?: Record<string, unknown>;
  dropout?: number;
  seed?: number;
}

/** The last 4-D tensor on the path into the `logits` layer: the feature map the head pools. */
export function featureMap(model: tf.LayersModel): tf.SymbolicTensor {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer('logits');
  } catch {
    throw new XaiLensError(`model "${model.name}" has no "logits" layer; only classifiers built by XAI Lens can be fine-tuned`);
  }
  for (let hops = 0; hops < 64; hops++) {
    const input = layer.inboundNodes[0].inputTensors[0];
    if (input.shape.length === 4) return input;
    layer = input.sourceLayer as tf.layers.Layer;
  }
  throw new XaiLensError(`model "${model.name}": no 4-D feature map before its "logits" layer`);
}

function unusedName(model: tf.LayersModel, name: string): string {
  const taken = new Set(model.layers.map((l) => l.name));
  let n = name;
  for (let i = 2; taken.has(n); i++) n = `${name}${i}`;
  return n;
}

/** A new model sharing the base's layers (and weights) up to its feature map, with a new head. */
export function replaceHead(base: tf.LayersModel, opts: HeadOptions): NewHead {
  if (!(Number.isInteger(opts.numClasses) && opts.numClasses >= 2)) throw new XaiLensError(`a classifier needs at least 2 classes, got ${opts.numClasses}`);
  const features = featureMap(base);
  const backbone = tf.model({ inputs: base.inputs, outputs: features });
  const backboneLayers = backbone.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name);
  let seed = opts.seed ?? 1;
  let x = features;
  const headLayers: string[] = [];
  const attentionId = opts.attention ?? 'none';
  if (attentionId !== 'none') {
    const spec = ATTENTIONS.find((a) => a.id === attentionId);
    if (!spec) throw new XaiLensError(`unknown attention "${attentionId}"; available: none, ${ATTENTIONS.map((a) => a.id).join(', ')}`);
    const name = unusedName(base, `head_${spec.id}`);
    const layer = spec.create({ name, seed: (seed += 3), inputShape: features.shape.slice(1) as ImageShape3, options: resolveOptions(spec.options, opts.attentionOptions, spec.id) });
    x = layer.apply(x) as tf.SymbolicTensor;
    headLayers.push(name);
  }
  // The head's names are the zoo's (gap, dropout, logits, probs): explainers and the trainer look for `logits`. The
  // base's own head layers are not part of the new model, so the names do not collide.
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ name: 'dropout', rate: opts.dropout ?? 0.2 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: opts.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  headLayers.push('gap', 'dropout', 'logits', 'probs');
  const model = tf.model({ inputs: base.inputs, outputs: probs, name: base.name });
  return { model, backboneLayers, headLayers };
}

/** The stage prefixes of a backbone's layer names ("stem", "block3", "top", …), in model order. */
export function stagePrefixes(backboneLayers: readonly string[]): string[] {
  return [...new Set(backboneLayers.map((n) => n.split('_')[0]))];
}

export type FreezeChoice = 'default' | 'none' | 'backbone' | string;

/**
 * What `--freeze` means for a run of `epochs` epochs:
 * - default: the backbone is frozen for the first `headEpochs` epochs (the head learns on fixed features), then all
 *   layers train.
 * - none: every layer trains from the start.
 * - backbone: the backbone stays frozen for the whole run (only the head trains).
 * - a comma list of stage prefixes (e.g. "stem,block0,block1"): those layers stay frozen for the whole run.
 */
export function freezePlan(choice: FreezeChoice, head: NewHead, epochs: number, headEpochs: number): FreezePlan | undefined {
  if (choice === 'none') return undefined;
  if (choice === 'default') return epochs > headEpochs ? { layers: head.backboneLayers, untilEpoch: headEpochs } : { layers: head.backboneLayers };
  if (choice === 'backbone') return { layers: head.backboneLayers };
  const stages = stagePrefixes(head.backboneLayers);
  const wanted = choice.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of wanted) {
    if (!stages.includes(s)) throw new XaiLensError(`--freeze: no stage "${s}" in the base model; expected none, backbone or a comma list of: ${stages.join(', ')}`);
  }
  return { layers: head.backboneLayers.filter((n) => wanted.includes(n.split('_')[0])) };
}

/** Head-only epochs of the default two-phase fine-tune: a fifth of the run (at least one; all of a one-epoch run). */
export function defaultHeadEpochs(epochs: number): number {
  return Math.max(1, Math.round(epochs / 5));
}

/** Parses `--input-size HxWxC` ("32x32x3"; C is 1 or 3). */
export function parseInputSize(text: string): ImageShape3 {
  const m = /^(\d+)x(\d+)x([13])$/i.exec(text.trim());
  if (!m) throw new XaiLensError(`--input-size must be HxWxC with C 1 or 3 (e.g. 32x32x3), got "${text}"`);
  const shape = [Number(m[1]), Number(m[2]), Number(m[3])] as ImageShape3;
  if (shape[0] < 8 || shape[1] < 8 || shape[0] > 1024 || shape[1] > 1024) throw new XaiLensError(`--input-size: sides must be 8..1024 px, got "${text}"`);
  return shape;
}

/**
 * The base model rebuilt at another input shape from its card's zoo architecture, every weight copied whose layer
 * name and shape match (the stem's kernel adapted across channel counts: gray → RGB repeats it / 3, RGB → gray sums
 * it). Layers whose shape depends on the input size (e.g. MobileNetV2's stage table changes above 32 px) start fresh;
 * the count is returned so the CLI can say so.
 */
export function rebuildForInput(base: tf.LayersModel, card: ModelCard | undefined, shape: ImageShape3): { model: tf.LayersModel; copied: number; total: number } {
  if (!card?.architecture) throw new XaiLensError('--input-size needs a base model with a model card naming its zoo architecture');
  const arch = getArchitecture(card.architecture);
  const numClasses = card.classNames.length;
  const model = arch.build({ inputShape: shape, numClasses, options: card.architectureOptions });
  let copied = 0;
  let total = 0;
  for (const layer of model.layers) {
    const own = layer.getWeights();
    if (own.length === 0) continue;
    total += own.length;
    let from: tf.layers.Layer | undefined;
    try {
      from = base.getLayer(layer.name);
    } catch {
      from = undefined;
    }
    const theirs = from?.getWeights() ?? [];
    if (theirs.length !== own.length) continue;
    const made: tf.Tensor[] = [];
    const next = own.map((w, i) => {
      const t = theirs[i];
      if (t.shape.join() === w.shape.join()) return (copied++, t);
      // A convolution kernel [kh, kw, cin, cout] on the image: adapt across input channels.
      if (w.rank === 4 && t.rank === 4 && w.shape[0] === t.shape[0] && w.shape[1] === t.shape[1] && w.shape[3] === t.shape[3]) {
        if (t.shape[2] === 1 && w.shape[2] === 3) return (copied++, made[made.push(tf.tidy(() => tf.div(tf.tile(t, [1, 1, 3, 1]), 3))) - 1]);
        if (t.shape[2] === 3 && w.shape[2] === 1) return (copied++, made[made.push(tf.sum(t, 2, true)) - 1]);
      }
      return w;
    });
    layer.setWeights(next);
    tf.dispose(made); // setWeights copied them into the layer's variables
  }
  return { model, copied, total };
}
