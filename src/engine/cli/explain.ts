import { basename, extname, join, resolve } from 'node:path';
import { readImageFile } from '../image/decode';
import { COLORMAPS, heatmapToImage, overlay, renderPng, resizeMapBilinear, signedDiffImage, upscaleToAtLeast, type Colormap } from '../image/render';
import type { RasterImage } from '../image/imageMath';
import { prepareForModel } from '../preprocess';
import { writeFileAtomic } from '../io/atomicFs';
import { createModelView } from '../explain/modelView';
import { prepareNativeForward } from '../native/nativeForward';
import { parseMethods } from '../explain/registry';
import { explainImage, usesSecondThread, type ExplainResult } from '../explain/explain';
import { ExplainReplica } from '../parallel/explainReplica';
import { explainThreadsPay } from '../parallel/replica';
import { getCounterfactualMethod, NO_COUNTERFACTUAL } from '../explain/counterfactuals/registry';
import { cliReport, explainPayload, modelInfo, type ReportFiles } from '../explain/payload';
import { XaiLensError } from '../errors';
import { loadModelFolder, startBackend, type Io } from './common';
import { numberFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

/** Displayed images are upscaled pixel-exactly (nearest neighbour) to at least this many pixels per side. */
const DISPLAY_MIN_SIDE = 280;

async function writePng(path: string, img: RasterImage, scale: 'display' | 'model' = 'display'): Promise<string> {
  await writeFileAtomic(path, renderPng(scale === 'display' ? upscaleToAtLeast(img, DISPLAY_MIN_SIDE) : img));
  return path;
}

/** Lists the model's 4-D layers (the choices for --layer). */
export async function layersCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'), values['allow-large-model'] === true);
  const view = createModelView(loaded.model);
  if (values.json) io.out(JSON.stringify({ default: view.defaultLayer, layers: view.spatialLayers }));
  else for (const l of view.spatialLayers) io.out(`${l.name.padEnd(28)} ${l.shape.join('×').padEnd(12)} ${l.className}${l.name === view.defaultLayer ? '  (default)' : ''}`);
  loaded.model.dispose();
  return 0;
}

export async function explainCommand(values: Values, positionals: string[], io: Io): Promise<number> {
  if (positionals.length !== 1) throw new XaiLensError(`explain takes exactly one image, got ${positionals.length} (usage: xai-lens explain <image> [options])`);
  const file = positionals[0];
  const methods = parseMethods(stringFlag(values, 'methods'));
  const cfMethod = stringFlag(values, 'counterfactual') ?? 'gradient';
  if (cfMethod !== NO_COUNTERFACTUAL) getCounterfactualMethod(cfMethod); // before any work: an unknown name fails fast
  const colormap = (stringFlag(values, 'colormap') ?? 'viridis') as Colormap;
  if (!COLORMAPS.includes(colormap)) throw new XaiLensError(`unknown colormap "${colormap}"; expected one of ${COLORMAPS.join(', ')}`);
  const opacity = numberFlag(values, 'opacity', 0.5, { min: 0, max: 1 });
  const img = await readImageFile(file); // before the backend starts: a bad image fails fast
  const backend = await startBackend(stringFlag(values, 'backend'), io);
  const loaded = await loadModelFolder(stringFlag(values, 'model'), values['allow-large-model'] === true);
  const native = await prepareNativeForward(loaded.model);
  if (native.note && !values.json) io.err(native.note);
  const view = createModelView(loaded.model, { native: native.forward });
  const target = values.class === undefined ? undefined : numberFlag(values, 'class', 0, { integer: true, min: 0, max: view.numClasses - 1 });
  const cfTargetFlag = stringFlag(values, 'counterfactual-class');
  const cfTarget = cfTargetFlag === undefined || cfTargetFlag === 'any' ? 'any' : numberFlag(values, 'counterfactual-class', 0, { integer: true, min: 0, max: view.numClasses - 1 });
  const details = loaded.imported.details;
  const prepared = prepareForModel(img, loaded.inputShape, details, details.alphaBackground, true);
  const [h, w] = loaded.inputShape;
  // The second thread loads on the other core while the first methods run here (explain/methods/twoThreads.ts).
  const replica = usesSecondThread(methods, cfMethod) && explainThreadsPay() ? new ExplainReplica(loaded.model, backend.name, loaded.imported.path) : undefined;
  view.secondThread = replica;
  let result: ExplainResult;
  try {
    result = await explainImage(view, prepared.image.data, {
      methods, target, layer: stringFlag(values, 'layer'), counterfactual: cfMethod, counterfactualTarget: cfTarget, seed: 1,
      onStep: values.json ? undefined : (done, total, what) => io.err(`[${done}/${total}] ${what}`),
    });
  } finally {
    await replica?.close();
  }

  const outDir = resolve(stringFlag(values, 'out') ?? 'xai-lens-out');
  const stem = basename(file, extname(file));
  const base = prepared.image;
  if (native.note) result.notes = [native.note, ...(result.notes ?? [])];
  const payload = explainPayload(result, {
    imagePath: file, model: modelInfo(loaded.imported, view), backend: backend.name, forwardBackend: view.forwardBackend, input: base, inverted: prepared.inverted,
    notes: prepared.notes, totalMs: 0,
  });
  const files: ReportFiles = { methods: {} };
  // Overlays on the image at its own resolution (the map resampled to it), or on the model input when that is its size.
  const shown = prepared.display ?? base;
  for (const a of result.attributions) {
    const map = prepared.display ? resizeMapBilinear(a.heatmap, a.height, a.width, shown.height, shown.width) : a.heatmap;
    const heat = heatmapToImage(map, shown.width, shown.height, a.signed ? 'redblue' : colormap, a.signed);
    files.methods[a.method] = await writePng(join(outDir, `${stem}.${a.method}.png`), overlay(shown, heat, opacity));
  }
  const cf = result.counterfactual;
  if (cf) {
    const cfImage: RasterImage = { width: w, height: h, channels: base.channels, data: cf.image };
    files.counterfactual = {
      png: await writePng(join(outDir, `${stem}.counterfactual.png`), cfImage),
      diffPng: await writePng(join(outDir, `${stem}.counterfactual-diff.png`), signedDiffImage(base, cfImage)),
      // The model's own input, pixel for pixel: what to feed back to the model or compare numerically.
      modelPng: await writePng(join(outDir, `${stem}.counterfactual.model-size.png`), cfImage, 'model'),
    };
  }
  await writePng(join(outDir, `${stem}.input.png`), base);
  if (values.json) {
    io.out(JSON.stringify(cliReport(payload, files)));
  } else {
    const p = result.prediction;
    for (const note of prepared.notes) io.err(`note: ${note}`);
    io.out(`${file}: predicted ${(details.displayNames ?? loaded.imported.classNames)[p.label] ?? p.label} (${(p.probabilities[p.label] * 100).toFixed(2)}%), explaining class ${result.target} at layer ${result.layer}`);
    for (const a of result.attributions) {
      const m = result.metrics[a.method];
      io.out(`  ${a.method.padEnd(11)} ${a.ms.toFixed(0).padStart(6)} ms${m ? `  deletion AUC ${m.deletionAuc.toFixed(3)} (random ${m.randomDeletionAuc.toFixed(3)})  insertion AUC ${m.insertionAuc.toFixed(3)} (random ${m.randomInsertionAuc.toFixed(3)})  clarity ${m.clarity.toFixed(3)}` : ''}`);
    }
    for (const s of result.skipped) io.out(`  ${s.method.padEnd(11)} skipped: ${s.reason}`);
    if (cf) io.out(`  counterfactual (${cf.method}): ${cf.found ? `class ${cf.label} at ${(cf.probability * 100).toFixed(1)}%` : 'no class change found'}; L0 ${cf.l0}, L1 ${cf.l1.toFixed(2)}, L2 ${cf.l2.toFixed(3)}, L∞ ${cf.linf.toFixed(3)}; ${cf.ms.toFixed(0)} ms`);
    io.out(`images written to ${outDir}`);
  }
  native.forward?.dispose();
  loaded.model.dispose();
  return 0;
}
