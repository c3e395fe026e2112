/**
 * Attention maps as explanations: what the model's own attention layers look at for this image, read from the layers
 * rather than estimated from outside. Per kind of layer (found by the maps it computes, so any layer implementing
 * `attentionMaps` takes part):
 *   spatial gate (CBAM)      — σ(BN(conv([max, mean]))) at each position;
 *   context mask (GC)        — the softmax weights of the global-context pooling (sum to 1);
 *   position attention (PAM) — the attention row of one query position: where that position gathers its features
 *                              from. The query is the peak of Grad-CAM for the target at the PAM layer's output (the
 *                              position whose features carry most of the target's evidence);
 *   channel gate only (SE)   — SE has no spatial attention; the map is ReLU(mean_c s_c·x_c), the layer's output summed
 *                              over channels: where the channels SE keeps are active.
 * SE and CBAM channel gates are returned as a vector (`scores.channelGate`) for a bar chart. Maps are upsampled
 * bilinearly to the input, like CAMs, so deletion/insertion metrics apply unchanged.
 *
 * The method is only available for models with attention layers: `unavailable` says so for the others, and runs of
 * several methods skip it with that reason.
 */
import * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../../errors';
import type { AttentionMaps } from '../../models/layers/attentionCommon';
import type { Attribution, AttentionSite, Explainer, ExplainRequest, ModelView } from '../types';
import { gradCam } from './cam';
import { checkAborted, imageTensor, optionsOf } from './common';

export type AttentionMapKind = 'spatial-gate' | 'context-mask' | 'position-attention' | 'channel-gate';

export interface AttentionLayerMap {
  layer: string;
  className: string;
  kind: AttentionMapKind;
  height: number;
  width: number;
  /** h × w at the layer's resolution, row-major. */
  map: number[];
  /** [row, col] of the PAM query position. */
  query?: [number, number];
  /** Per-channel gate in (0, 1) (SE, CBAM). */
  channelGate?: number[];
}

function noAttention(view: ModelView): string | undefined {
  return view.attentionLayers.length ? undefined : 'the model has no attention layers (SqueezeExcite, CBAM, PAM, GCBlock)';
}

/** The layer to show: option `attentionLayer`, else the CAM layer when it is an attention layer, else the last one. */
function pickSite(view: ModelView, req: ExplainRequest): AttentionSite {
  const wanted = optionsOf(attentionMap, req).attentionLayer;
  if (wanted) {
    const site = view.attentionLayers.find((a) => a.layer === String(wanted));
    if (!site) throw new XaiLensError(`option "attentionLayer": "${wanted}" is not an attention layer; attention layers: ${view.attentionLayers.map((a) => a.layer).join(', ')}`);
    return site;
  }
  return view.attentionLayers.find((a) => a.layer === req.layer) ?? view.attentionLayers[view.attentionLayers.length - 1];
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** One layer's map at its own resolution. */
async function layerMap(view: ModelView, req: ExplainRequest, site: AttentionSite): Promise<AttentionLayerMap> {
  const [h, w] = site.shape;
  const base = { layer: site.layer, className: site.className, height: h, width: w };
  const maps = tf.tidy(() => ({ ...view.attentionMaps(site.layer, imageTensor(req)) })) as AttentionMaps;
  try {
    const channelGate = maps.channel ? Array.from(maps.channel.dataSync() as Float32Array) : undefined;
    if (maps.positions) {
      // The query: the Grad-CAM peak at the layer's own output (ties: the first in row-major order).
      const cam = await gradCam.explain(view, { ...req, layer: site.layer, options: undefined });
      const q = argmax(cam.layerMap!.data);
      const row = tf.tidy(() => tf.slice(maps.positions!, [0, q, 0], [1, 1, h * w]).dataSync());
      return { ...base, kind: 'position-attention', map: Array.from(row), query: [Math.floor(q / w), q % w] };
    }
    if (maps.spatial) {
      // A spatial map without a channel gate is a pooling mask (GC); with one, CBAM's spatial gate.
      return { ...base, kind: maps.channel ? 'spatial-gate' : 'context-mask', map: Array.from(maps.spatial.dataSync() as Float32Array), channelGate };
    }
    if (!channelGate) throw new XaiLensError(`attention layer "${site.layer}" (${site.className}) computes no map`);
    const map = tf.tidy(() => {
      const { activations } = view.probe(site.layer, imageTensor(req), tf.zeros([1, ...site.shape]) as tf.Tensor4D);
      return tf.relu(tf.mean(activations, 3)).dataSync();
    });
    return { ...base, kind: 'channel-gate', map: Array.from(map), channelGate };
  } finally {
    for (const t of [maps.channel, maps.spatial, maps.positions]) t?.dispose();
  }
}

export const attentionMap: Explainer = {
  id: 'attention',
  label: 'Attention map',
  description: 'What the model\'s attention modules look at: CBAM\'s spatial gate, PAM\'s attention row, GC\'s context mask, SE/CBAM channel gates',
  options: {
    attentionLayer: { type: 'string', default: '', description: 'attention layer to show (empty: the CAM layer when it is one, else the last)' },
  },
  // Gradients only for PAM's query position.
  capabilities: { usesGradients: true, blackBox: false, needsSpatialLayer: false, signed: false },
  unavailable: noAttention,
  async explain(view: ModelView, req: ExplainRequest): Promise<Attribution> {
    checkAborted(req.signal);
    const reason = noAttention(view);
    if (reason) throw new XaiLensError(`attention maps: ${reason}`);
    const t0 = performance.now();
    const shown = pickSite(view, req);
    const layers: AttentionLayerMap[] = [];
    for (const site of view.attentionLayers) {
      checkAborted(req.signal);
      layers.push(await layerMap(view, req, site));
    }
    const main = layers.find((l) => l.layer === shown.layer)!;
    const [H, W] = req.shape;
    const heatmap = tf.tidy(() => {
      const m = tf.tensor4d(main.map, [1, main.height, main.width, 1]);
      return tf.reshape(tf.image.resizeBilinear(m, [H, W]), [H * W]).dataSync() as Float32Array;
    });
    return {
      method: 'attention',
      heatmap,
      height: H,
      width: W,
      signed: false,
      layerMap: { layer: main.layer, height: main.height, width: main.width, data: Float32Array.from(main.map) },
      scores: {
        layer: main.layer,
        className: main.className,
        kind: main.kind,
        ...(main.query ? { query: main.query } : {}),
        ...(main.channelGate ? { channelGate: main.channelGate } : {}),
        layers,
      },
      ms: performance.now() - t0,
    };
  },
};
