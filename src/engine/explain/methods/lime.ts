/**
 * LIME for images (Ribeiro et al. 2016): segment the image into superpixels (SLIC), draw `samples` random on/off
 * patterns over the segments (the first keeps everything), replace "off" segments by a fill value, ask the model for
 * the target's probability, weight each sample by an exponential kernel on its cosine distance to the original
 * (width 0.25, as in the reference implementation), and fit a weighted ridge regression (λ = 1). The segment
 * coefficients are the explanation: every pixel gets its segment's weight (signed). The fit's R² tells how well the
 * local linear model explains the classifier around this image.
 */
import { SeededRandom } from '../../data/random';
import { slic } from '../superpixels';
import { weightedRidge } from '../ridge';
import type { Attribution, Explainer } from '../types';
import { checkAborted, optionsOf } from './common';
import { flatProbabilitiesOf } from '../flatProbabilities';
import { costOf, forwardBatchOf, inputBatch, scaledSamples } from '../budget';
import { pacer } from '../pacing';

export const lime: Explainer = {
  id: 'lime',
  label: 'LIME',
  description: 'LIME (Ribeiro et al. 2016): a weighted linear fit over superpixels switched on and off',
  options: {
    samples: { type: 'integer', default: 1000, min: 2, max: 100000, setting: true, description: 'perturbed samples the local linear model is fit on' },
    kernelWidth: { type: 'number', default: 0.25, min: 1e-6, max: 100, description: 'width of the exponential kernel on the cosine distance' },
    lambda: { type: 'number', default: 1, min: 0, max: 1e6, description: 'ridge penalty of the local fit' },
    fill: { type: 'number', default: 0, min: 0, max: 1, description: 'value of switched-off superpixels' },
    batch: { type: 'integer', default: 250, min: 1, max: 4096, description: 'perturbed images per model call' },
    segments: { type: 'integer', default: 50, min: 2, max: 10000, description: 'SLIC superpixels asked for' },
    compactness: { type: 'number', default: 10, min: 0.01, max: 1000, description: 'SLIC compactness' },
  },
  capabilities: { usesGradients: false, blackBox: true, needsSpatialLayer: false, signed: true },
  async explain(view, req): Promise<Attribution> {
    checkAborted(req.signal);
    const t0 = performance.now();
    const [h, w, c] = req.shape;
    const o = optionsOf(lime, req);
    // Fewer samples by default for costly models; an explicit count is kept.
    const samples = req.options?.samples === undefined ? scaledSamples(costOf(view), o.samples as number, 200) : (o.samples as number);
    const kernelWidth = o.kernelWidth as number;
    const lambda = o.lambda as number;
    const fill = o.fill as number;
    const batch = inputBatch(req.shape, o.batch as number);
    const seg = slic({ width: w, height: h, channels: c as 1 | 3 | 4, data: req.image }, {
      segments: o.segments as number,
      compactness: o.compactness as number,
    });
    const d = seg.count;
    const rng = new SeededRandom(req.seed ?? 0);
    const masks = new Float32Array(samples * d);
    masks.fill(1, 0, d); // sample 0: the original image
    for (let i = d; i < masks.length; i++) masks[i] = rng.next() < 0.5 ? 0 : 1;

    const y = new Float64Array(samples);
    const per = h * w * c;
    const probabilities = flatProbabilitiesOf(view, req.shape, batch);
    // One buffer for every batch: at 224×224×3 a batch is tens of MB, and a fresh one per batch costs more than
    // filling it.
    const images = new Float32Array(Math.min(batch, samples) * per);
    const tick = pacer(req.pause, req.signal);
    for (let s = 0; s < samples; s += batch) {
      await tick();
      const n = Math.min(batch, samples - s);
      for (let i = 0; i < n; i++) {
        const m = masks.subarray((s + i) * d, (s + i + 1) * d);
        const off = i * per;
        for (let p = 0; p < h * w; p++) {
          const on = m[seg.labels[p]] === 1;
          for (let k = 0; k < c; k++) images[off + p * c + k] = on ? req.image[p * c + k] : fill;
        }
      }
      const probs = probabilities(images.subarray(0, n * per), n);
      const classes = probs.length / n;
      for (let i = 0; i < n; i++) y[s + i] = probs[i * classes + req.target];
    }

    // Cosine distance of each pattern to all-on: 1 − √(on / d).
    const weights = new Float64Array(samples);
    for (let i = 0; i < samples; i++) {
      let on = 0;
      for (let j = 0; j < d; j++) on += masks[i * d + j];
      const dist = 1 - Math.sqrt(on / d);
      weights[i] = Math.sqrt(Math.exp(-(dist * dist) / (kernelWidth * kernelWidth)));
    }
    const fit = weightedRidge(masks, y, weights, lambda);
    const heatmap = new Float32Array(h * w);
    for (let p = 0; p < h * w; p++) heatmap[p] = fit.coef[seg.labels[p]];
    return {
      method: 'lime',
      heatmap,
      height: h,
      width: w,
      signed: true,
      scores: {
        segments: d, superpixels: c >= 3 ? 'SLIC, CIELAB' : 'SLIC, intensity', segmentWeights: Array.from(fit.coef), intercept: fit.intercept,
        r2: fit.r2, samples, batch, forwardBatch: forwardBatchOf(view), segmentLabels: Array.from(seg.labels),
      },
      ms: performance.now() - t0,
    };
  },
};
