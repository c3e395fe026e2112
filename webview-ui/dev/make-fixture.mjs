// Builds webview-ui/dev/fixture.json (an ExplainResultPayload) from the engine's real output:
//   node esbuild.mjs
//   node bin/xai-lens.js explain media/samples/digit-7.png --methods all --counterfactual gradient --json --out /tmp/xo > /tmp/xo.json
//   node bin/xai-lens.js layers --json > /tmp/layers.json
//   node webview-ui/dev/make-fixture.mjs /tmp/xo.json /tmp/layers.json
// The CLI's JSON uses other field names than the panel protocol (snake_case metrics, nested heatmaps, PNG paths
// instead of pixels), so this maps them; input and counterfactual pixels are read back from the written PNGs
// (which the CLI upscales pixel-exactly: every k-th pixel is the original). Not in the CLI output, so illustrative:
// the model card numbers (params, MACs, accuracy) and LIME's R².
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decode } from 'fast-png';

const [cliJson = '/tmp/xo.json', layersJson = '/tmp/layers.json'] = process.argv.slice(2);
const out = new URL('./fixture.json', import.meta.url);
const cli = JSON.parse(readFileSync(cliJson, 'utf8'));
const layers = JSON.parse(readFileSync(layersJson, 'utf8'));

const LABELS = {
  gradcam: 'Grad-CAM', gradcampp: 'Grad-CAM++', scorecam: 'Score-CAM', gradients: 'Gradients',
  smoothgrad: 'SmoothGrad', ig: 'Integrated Gradients', lime: 'LIME',
};
const r6 = (x) => Math.round(x * 1e6) / 1e6;

function readPng(path, size) {
  const png = decode(readFileSync(path));
  const k = png.width / size;
  const channels = png.channels === 2 ? 1 : png.channels;
  const data = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = ((y * k) * png.width + x * k) * png.channels;
      for (let c = 0; c < channels; c++) data.push(r6(png.data[s + c] / 255));
    }
  }
  return { width: size, height: size, channels, data };
}

const methodEntries = Object.entries(cli.methods);
const size = methodEntries[0][1].heatmap.length;
const inputPath = methodEntries[0][1].png.replace(/\.[a-z]+\.png$/, '.input.png');
const input = readPng(inputPath, size);

const methods = methodEntries.map(([id, m]) => {
  const met = cli.metrics?.[id];
  return {
    method: id,
    label: LABELS[id] ?? id,
    signed: m.signed,
    width: m.heatmap[0].length,
    height: m.heatmap.length,
    data: m.heatmap.flat().map(r6),
    ...(m.layer ? { layer: m.layer, layerSize: m.layer_size } : {}),
    ms: m.ms,
    ...(met ? {
      metrics: {
        deletionAuc: met.deletion_auc, insertionAuc: met.insertion_auc, randomDeletionAuc: met.random_deletion_auc,
        randomInsertionAuc: met.random_insertion_auc, clarity: met.clarity,
      },
    } : {}),
    ...(m.r2 !== undefined ? { r2: m.r2 } : id === 'lime' ? { r2: 0.734 } : {}),
  };
});

let counterfactual;
if (cli.counterfactual) {
  const c = cli.counterfactual;
  const image = readPng(c.png, size);
  counterfactual = {
    method: c.method, found: c.found, label: c.label, probability: c.probability, image,
    diff: image.data.map((v, i) => r6(v - input.data[i])),
    l0: c.l0, l1: c.l1, l2: c.l2, linf: c.linf, iterations: c.iterations, ms: c.ms,
  };
}

const result = {
  imagePath: `/workspace/${basename(cli.file)}`,
  model: {
    dir: cli.model,
    name: basename(cli.model),
    architecture: 'CBAM-MobileNetV2',
    params: 118_000,
    macsPerImage: 2_900_000,
    inputShape: [size, size, input.channels],
    classNames: cli.prediction.probabilities.map((_, i) => String(i)),
    testAccuracy: 0.985,
    layers: layers.layers,
    defaultLayer: layers.default,
  },
  backend: cli.backend,
  input,
  inverted: cli.inverted,
  prediction: cli.prediction,
  target: cli.target,
  layer: cli.layer,
  methods,
  counterfactual,
  totalMs: methods.reduce((s, m) => s + m.ms, 0) + (counterfactual?.ms ?? 0),
};
writeFileSync(out, JSON.stringify(result));
console.log(`wrote ${out.pathname}: ${methods.length} methods, ${size}×${size}×${input.channels}`);
