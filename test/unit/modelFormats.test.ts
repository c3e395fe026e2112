/**
 * One entry point for every model format: detection, predictions against each format's reference runtime
 * (onnxruntime-node for ONNX, tf.loadGraphModel for graph models, TF.js for a third-party layers model from the npm
 * registry), sidecar / labels.txt / classes.json, preprocessing as a first layer, alpha background and channel
 * conversion notes, and one-line errors for every kind of bad model.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { initBackend } from '../../src/engine/backend/backends';
import { detectModelFormat, importModel } from '../../src/engine/io/modelFormats';
import { alphaBackground, parseClassesJson, validateSidecar } from '../../src/engine/io/modelMetadata';
import { sidecarContent } from '../../src/shared/modelFormats';
import { EngineService } from '../../src/engine/process/service';
import { importedModelCard } from '../../src/engine/io/importedCard';
import { loadModel } from '../../src/engine/io/modelFolder';
import { createModelView } from '../../src/engine/explain/modelView';
import { explainImage } from '../../src/engine/explain/explain';
import { parseMethods } from '../../src/engine/explain/registry';
import { DISPLAY_MAX_SIDE, prepareForModel } from '../../src/engine/preprocess';
import { decodeImage, jpegOrientation } from '../../src/engine/image/decode';
import * as jpeg from 'jpeg-js';
import { main } from '../../src/engine/cli';
import { encodePng } from '../../src/engine/image/decode';
import { loadGraphReference, maxAbsDiff, tempDir } from './helpers';

const MODELS = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models');
const ONNX = join(MODELS, 'onnx');
const KERAS = join(MODELS, 'keras');

function softmaxRows(x: Float32Array, k: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / k; r++) {
    const row = x.subarray(r * k, (r + 1) * k);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => (out[r * k + i] = v / s));
  }
  return out;
}

async function ortRun(file: string, nchw: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', nchw, dims) });
  return out[session.outputNames[0]].data as Float32Array;
}

async function importError(path: string, opts = {}): Promise<string> {
  try {
    const m = await importModel(path, opts);
    m.model.dispose();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('model formats', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('detects each format from the path', () => {
    const cases: [string, string][] = [
      [join(KERAS, 'tiny28-tfjs'), 'tfjs-layers'],
      [join(KERAS, 'tiny28-tfjs', 'model.json'), 'tfjs-layers'],
      [join(MODELS, 'tfjs-graph', 'cnn32'), 'tfjs-graph'],
      [join(KERAS, 'tiny28.keras'), 'keras'],
      [join(KERAS, 'tiny28.h5'), 'keras-h5'],
      [join(ONNX, 'cnn28.onnx'), 'onnx'],
    ];
    for (const [p, id] of cases) assert.equal(detectModelFormat(p).id, id, p);
    assert.throws(() => detectModelFormat(ONNX), /folder holds 6 model files/);
    assert.throws(() => detectModelFormat(join(MODELS, 'nope.onnx')), /nope\.onnx: model not found/);
  });

  it('ONNX logits model: probabilities equal softmax of onnxruntime logits (≤ 1e-4), NCHW fed as NHWC', async () => {
    const m = await importModel(join(ONNX, 'cnn28.onnx'));
    try {
      assert.deepEqual(m.inputShape, [28, 28, 1]);
      assert.equal(m.details.format, 'onnx');
      assert.ok(m.details.notes.some((n) => /logits/.test(n)), m.details.notes.join('; '));
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 4);
      const ours = tf.tidy(() => (m.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
      // A 1-channel NHWC batch has NCHW's memory order.
      const ref = softmaxRows(await ortRun(join(ONNX, 'cnn28.onnx'), x.dataSync() as Float32Array, [2, 1, 28, 28]), 10);
      x.dispose();
      assert.ok(maxAbsDiff(ours, ref) <= 1e-4, `max difference ${maxAbsDiff(ours, ref)}`);
    } finally {
      m.model.dispose();
    }
  });

  it('sidecar xai-lens.json: class and display names, preprocessing as a first layer (matches onnxruntime on preprocessed input)', async () => {
    const t = tempDir();
    try {
      const file = join(t.dir, 'net.onnx');
      copyFileSync(join(ONNX, 'cnn28.onnx'), file);
      const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
      writeFileSync(join(t.dir, 'xai-lens.json'), JSON.stringify({ name: 'digits', classNames: names, displayNames: names.map((n) => n.toUpperCase()), preprocessing: { range: [0, 255], mean: [33], std: [78] } }));
      const m = await importModel(file);
      try {
        assert.equal(m.name, 'digits');
        assert.deepEqual(m.classNames, names);
        assert.equal(m.details.displayNames?.[3], 'N3');
        assert.equal(m.details.preprocessingSource, 'sidecar');
        assert.deepEqual(m.details.preprocessing.range, [0, 255]);
        assert.equal(m.model.layers[1].name, 'xai_preprocess');
        const x = tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 8);
        const ours = tf.tidy(() => (m.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
        const pre = Float32Array.from(x.dataSync(), (v) => (v * 255 - 33) / 78);
        x.dispose();
        const ref = softmaxRows(await ortRun(file, pre, [1, 1, 28, 28]), 10);
        assert.ok(maxAbsDiff(ours, ref) <= 1e-4, `max difference ${maxAbsDiff(ours, ref)}`);
        const card = importedModelCard(m);
        assert.equal(card.modelFormat, 'onnx');
        assert.ok(card.layers.some((l) => l.className === 'OnnxNode' && l.outputShape.join() === '28,28,8'), JSON.stringify(card.layers.slice(0, 4)));
      } finally {
        m.model.dispose();
      }
      writeFileSync(join(t.dir, 'xai-lens.json'), JSON.stringify({ preprocessing: { range: [1, 0] } }));
      assert.equal(await importError(file), `${join(t.dir, 'xai-lens.json')}: "preprocessing.range" must be [low, high] with low < high`);
      writeFileSync(join(t.dir, 'xai-lens.json'), JSON.stringify({ classes: [] }));
      assert.match(await importError(file), /xai-lens\.json: unknown field "classes"/);
    } finally {
      t.cleanup();
    }
  });

  it('editing the sidecar the panel writes (sidecarContent) takes effect on the engine\'s next request', async () => {
    const t = tempDir();
    const service = new EngineService();
    try {
      const file = join(t.dir, 'net.onnx');
      copyFileSync(join(ONNX, 'cnn28.onnx'), file);
      const first = await service.loadModel(file);
      const sidecar = first.details!.sidecar!;
      assert.deepEqual(sidecar, { path: `${file}.xai-lens.json`, exists: false });
      assert.equal(first.details!.preprocessingSource, 'default');
      // What the panel's Edit Model Settings creates: today's values, which the engine reads back unchanged…
      const content = JSON.parse(sidecarContent(first.name, first.classNames, first.details!)) as { classNames: string[]; preprocessing: { range: number[] } };
      assert.deepEqual(validateSidecar(content, sidecar.path), content);
      // …then the user's edit.
      content.classNames = content.classNames.map((c) => `digit ${c}`);
      content.preprocessing.range = [0, 255];
      writeFileSync(sidecar.path, JSON.stringify(content));
      const second = await service.loadModel(file);
      assert.equal(second.classNames[7], 'digit 7');
      assert.deepEqual(second.details!.preprocessing.range, [0, 255]);
      assert.deepEqual(second.details!.sidecar, { path: sidecar.path, exists: true });
      assert.equal(second.details!.preprocessingSource, 'sidecar');
      assert.equal(await service.loadModel(file), await service.loadModel(file), 'unchanged files: the loaded model is kept');
    } finally {
      service.dispose();
      t.cleanup();
    }
  });

  it('labels.txt and classes.json (list, index map, Keras imagenet_class_index pairs)', async () => {
    const t = tempDir();
    try {
      const file = join(t.dir, 'net.onnx');
      copyFileSync(join(ONNX, 'nhwc32.onnx'), file);
      writeFileSync(join(t.dir, 'labels.txt'), 'cat\ndog\n\nbird\nfish\n');
      const m = await importModel(file);
      assert.deepEqual(m.classNames, ['cat', 'dog', 'bird', 'fish']);
      assert.equal(m.details.classNamesSource, 'labels.txt');
      m.model.dispose();
      assert.deepEqual(parseClassesJson({ 1: ['n02', 'dog'], 0: ['n01', 'cat'] }, 'c.json'), { classNames: ['n01', 'n02'], displayNames: ['cat', 'dog'] });
      assert.deepEqual(parseClassesJson({ 0: 'a', 1: 'b' }, 'c.json'), { classNames: ['a', 'b'] });
      assert.throws(() => parseClassesJson({ 5: 'a' }, 'c.json'), /c\.json: key "5" is not a class index 0…0/);
    } finally {
      t.cleanup();
    }
  });

  it('TF.js graph model: same predictions as tf.loadGraphModel; residual-block interiors are not CAM layers', async () => {
    const dir = join(MODELS, 'tfjs-graph', 'cnn32');
    const m = await importModel(dir);
    const gm = await loadGraphReference(dir);
    const view = createModelView(m.model);
    try {
      assert.equal(m.details.format, 'tfjs-graph');
      assert.deepEqual(m.inputShape, [32, 32, 3]);
      const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 2);
      const ours = tf.tidy(() => (m.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
      const ref = tf.tidy(() => (gm.predict(x) as tf.Tensor).dataSync() as Float32Array);
      x.dispose();
      assert.ok(maxAbsDiff(ours, ref) <= 1e-6, `max difference ${maxAbsDiff(ours, ref)}`);
      const names = view.spatialLayers.map((l) => `${l.name}:${l.shape.join('x')}`);
      assert.ok(names.includes('stem_Relu6:16x16x8') && names.includes('block_add:16x16x8') && names.includes('top_Relu:8x8x12'), names.join(' '));
      assert.ok(!names.some((n) => n.includes('dw')), names.join(' '));
      // stem 16·16·8·(3·3·3) + depthwise 16·16·8·(3·3) + pointwise 16·16·8·8 + top 8·8·12·(3·3·8) + head 4·12.
      assert.equal(view.cost.macs, 55_296 + 18_432 + 16_384 + 55_296 + 48, 'the cost counts every convolution and the MatMul');
      // Every op's output inside the segments (nine of 16·16·8, three of 8·8·12, the mean, the MatMul and its bias),
      // then the softmax and the input.
      assert.equal(view.cost.activations, 9 * 2048 + 3 * 768 + 12 + 4 + 4 + 4 + 3072, 'the memory estimate sees the ops inside the segments');
      assert.ok(view.scoresAreLogProbabilities === false, 'the logits before Softmax are the scores');
      const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(view.scores(t as tf.Tensor4D)))(tf.ones([1, 32, 32, 3])).abs().sum().dataSync()[0]);
      assert.ok(g > 0 && Number.isFinite(g), `gradient ${g}`);
    } finally {
      view.dispose();
      m.model.dispose();
      gm.dispose();
    }
  });

  it('third-party model from the npm registry (nsfwjs 4.4.0 MobileNetV2, 224×224×3): loads with its sidecar names, predicts as TF.js does, Grad-CAM runs', async () => {
    const dir = join(MODELS, 'third-party', 'nsfwjs-mobilenet_v2');
    const m = await importModel(dir);
    const ref = await loadModel(dir);
    const view = createModelView(m.model);
    try {
      assert.deepEqual(m.inputShape, [224, 224, 3]);
      assert.deepEqual(m.classNames, ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
      assert.ok(m.params > 2_000_000, `${m.params} parameters`);
      const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 5);
      const ours = tf.tidy(() => (m.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
      const theirs = tf.tidy(() => (ref.predict(x) as tf.Tensor).dataSync() as Float32Array);
      assert.ok(maxAbsDiff(ours, theirs) <= 1e-6);
      const r = await explainImage(view, x.dataSync() as Float32Array, { methods: parseMethods('gradcam'), counterfactual: 'none', seed: 1, metrics: false });
      x.dispose();
      const cam = r.attributions[0];
      assert.equal(cam.width, 224);
      assert.ok(cam.heatmap.every(Number.isFinite));
    } finally {
      view.dispose();
      m.model.dispose();
      ref.dispose();
    }
  });

  it('every explainer runs on an imported 224×224×3 ONNX model (gradients through the ONNX ops)', async () => {
    const m = await importModel(join(ONNX, 'cnn224.onnx'));
    const view = createModelView(m.model);
    try {
      const x = tf.tidy(() => tf.randomUniform([224 * 224 * 3], 0, 1, 'float32', 9).dataSync() as Float32Array);
      const r = await explainImage(view, x, {
        methods: parseMethods('all'),
        counterfactual: 'none', seed: 1, layer: 'c4_Conv',
        methodOptions: { smoothgrad: { samples: 2 }, ig: { steps: 4 }, lime: { samples: 24 } },
        metrics: false,
      });
      assert.deepEqual(r.attributions.map((a) => a.method).sort(), ['gradcam', 'gradcampp', 'gradients', 'ig', 'lime', 'scorecam', 'smoothgrad']);
      for (const a of r.attributions) {
        assert.equal(a.heatmap.length, 224 * 224, a.method);
        assert.ok(a.heatmap.every(Number.isFinite), a.method);
      }
      const grads = r.attributions.find((a) => a.method === 'gradients')!;
      assert.ok(grads.heatmap.some((v) => v !== 0), 'input gradients are not all zero');
    } finally {
      view.dispose();
      m.model.dispose();
    }
  });

  describe('bad models: one line naming the file and the problem', () => {
    it('not an image classifier, multi-input, unsupported op', async () => {
      assert.equal(await importError(join(ONNX, 'bad-output4d.onnx')), `${join(ONNX, 'bad-output4d.onnx')}: output "y" has shape [N, 2, 8, 8]; an image classifier outputs [N, classes]`);
      assert.equal(await importError(join(ONNX, 'bad-two-inputs.onnx')), `${join(ONNX, 'bad-two-inputs.onnx')}: takes 2 inputs (input, mask); an image classifier takes one image`);
      assert.equal(await importError(join(ONNX, 'bad-unsupported-op.onnx')), `${join(ONNX, 'bad-unsupported-op.onnx')}: unsupported ONNX operator LpNormalization (node "LpNormalization_1")`);
    });

    it('truncated ONNX, .keras and .h5 files; a Keras layer class with no TF.js equivalent; a model over the size limit', async () => {
      const t = tempDir();
      try {
        const cut = (src: string, name: string, frac: number) => {
          const b = readFileSync(src);
          const p = join(t.dir, name);
          writeFileSync(p, b.subarray(0, Math.floor(b.length * frac)));
          return p;
        };
        const onnxCut = cut(join(ONNX, 'cnn28.onnx'), 'cut.onnx', 0.6);
        assert.match(await importError(onnxCut), new RegExp(`^${onnxCut}: (not a readable ONNX model|weights are truncated)`));
        const kerasCut = cut(join(KERAS, 'tiny28.keras'), 'cut.keras', 0.7);
        assert.match(await importError(kerasCut), new RegExp(`^${kerasCut}: not a readable \\.keras file \\(a zip archive; truncated\\?\\)`));
        const h5Cut = cut(join(KERAS, 'tiny28.h5'), 'cut.h5', 0.5);
        assert.match(await importError(h5Cut), new RegExp(`^${h5Cut}: .*(truncated|not a readable HDF5)`));
        const files = unzipSync(new Uint8Array(readFileSync(join(KERAS, 'tiny28.keras'))));
        files['config.json'] = strToU8(strFromU8(files['config.json']).replace('"class_name": "Dropout"', '"class_name": "StochasticDepth"'));
        const custom = join(t.dir, 'custom.keras');
        writeFileSync(custom, zipSync(files));
        assert.equal(await importError(custom), `${custom}: unsupported Keras layer class StochasticDepth (layer "drop")`);
        assert.match(await importError(join(ONNX, 'cnn28.onnx'), { maxBytes: 1000 }), /cnn28\.onnx: model is 0 MB, over the 0 MB limit \(allow it with --allow-large-model, or confirm in VS Code\)/);
      } finally {
        t.cleanup();
      }
    });
  });

  describe('images for imported models', () => {
    it('alpha background follows the preprocessing, and compositing and channel conversion are reported', () => {
      assert.deepEqual(alphaBackground({ range: [0, 1], channelOrder: 'rgb', background: 'dark' }, 1).rgb, [0, 0, 0]);
      assert.deepEqual(alphaBackground({ range: [-1, 1], channelOrder: 'rgb' }, 3).rgb, [0.5, 0.5, 0.5]);
      const mean = alphaBackground({ range: [0, 255], mean: [103.939, 116.779, 123.68], channelOrder: 'bgr' }, 3);
      assert.deepEqual(mean.rgb.map((v) => Math.round(v * 255)), [124, 117, 104]);
      assert.deepEqual(alphaBackground({ range: [0, 1], channelOrder: 'rgb' }, 3).rgb, [1, 1, 1]);
      // One transparent red pixel, one opaque green one, composited onto gray for a 3-channel model.
      const img = { width: 2, height: 1, channels: 4 as const, data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 1]) };
      const p = prepareForModel(img, [1, 2, 3], undefined, { rgb: [0.5, 0.5, 0.5], reason: 'test' });
      assert.deepEqual(Array.from(p.image.data), [0.5, 0.5, 0.5, 0, 1, 0]);
      assert.deepEqual(p.notes, ['transparent pixels composited onto #808080 (test)']);
      const gray = prepareForModel(img, [1, 2, 1], undefined, { rgb: [0, 0, 0], reason: 'zero' });
      assert.deepEqual(gray.notes, ['transparent pixels composited onto #000000 (zero)', 'RGB image converted to gray (the model takes 1 channel)']);
    });

    it('overlays are drawn at the image\'s own resolution: prepareForModel keeps it (capped), explain --json draws on it', async () => {
      assert.equal(prepareForModel({ width: 28, height: 28, channels: 1, data: new Float32Array(784) }, [28, 28, 1], undefined, undefined, true).display, undefined, 'the input\'s size: no second copy');
      // A 90×60 RGBA photo for a 28×28 gray model: shown gray, composited, at 90×60.
      const photo = { width: 90, height: 60, channels: 4 as const, data: new Float32Array(90 * 60 * 4).map((_, i) => (i % 4 === 3 ? (i % 8 === 3 ? 0 : 1) : 0.6)) };
      assert.equal(prepareForModel(photo, [28, 28, 1]).display, undefined, 'only when asked (predictions do not pay for it)');
      const p = prepareForModel(photo, [28, 28, 1], undefined, { rgb: [0, 0, 0], reason: 'zero' }, true);
      assert.deepEqual([p.display?.width, p.display?.height, p.display?.channels], [90, 60, 1]);
      assert.ok(Math.abs(p.display!.data[0] - 0) < 1e-6 && Math.abs(p.display!.data[1] - 0.6) < 1e-6, 'transparent pixels composited as for the model');
      // A large photo is capped at DISPLAY_MAX_SIDE on its longer side.
      const big = prepareForModel({ width: 2000, height: 1000, channels: 3, data: new Float32Array(2000 * 1000 * 3) }, [224, 224, 3], undefined, undefined, true);
      assert.deepEqual([big.display?.width, big.display?.height, big.display?.channels], [DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE / 2, 3]);

      const t = tempDir();
      try {
        const file = join(t.dir, 'wide.png');
        writeFileSync(file, encodePng({ width: 90, height: 60, channels: 3, data: new Float32Array(90 * 60 * 3).map((_, i) => ((i / 3) % 90 > 30 && (i / 3) % 90 < 60 ? 1 : 0)) }));
        const out: string[] = [];
        const code = await main(['explain', file, '--methods', 'gradcam', '--counterfactual', 'none', '--json', '--out', t.dir], { out: (l) => out.push(l), err: () => undefined, isTty: false });
        assert.equal(code, 0);
        const report = JSON.parse(out[0]) as { methods: { gradcam: { png: string; heatmap: number[][] } } };
        assert.equal(report.methods.gradcam.heatmap.length, 28, 'the map itself stays at the model\'s size');
        const png = decodeImage(readFileSync(report.methods.gradcam.png), report.methods.gradcam.png);
        assert.deepEqual([png.width, png.height], [450, 300], 'the overlay is the photo\'s 90×60, upscaled ×5 to at least 280 per side');
      } finally {
        t.cleanup();
      }
    });

    it('JPEG EXIF orientation is applied (6: rotate 90° clockwise, 3: 180°, 8: 90° counter-clockwise)', () => {
      // 16×8, left half black, right half white.
      const w = 16;
      const h = 8;
      const rgba = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          rgba.fill(x < 8 ? 0 : 255, (y * w + x) * 4, (y * w + x) * 4 + 3);
          rgba[(y * w + x) * 4 + 3] = 255;
        }
      }
      const plain = jpeg.encode({ data: rgba, width: w, height: h }, 100).data;
      const withOrientation = (o: number): Uint8Array => {
        // APP1: "Exif\0\0", little-endian TIFF header, IFD0 with one entry: 0x0112 SHORT 1 = o.
        const tiff = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0];
        const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
        const app1 = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
        return Uint8Array.from([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)]);
      };
      const mean = (img: { width: number; channels: number; data: Float32Array }, x0: number, y0: number, x1: number, y1: number) => {
        let sum = 0;
        let n = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            sum += img.data[(y * img.width + x) * img.channels];
            n++;
          }
        }
        return sum / n;
      };
      assert.equal(jpegOrientation(plain), 1);
      const r6 = decodeImage(withOrientation(6), 'r6.jpg');
      assert.equal(jpegOrientation(withOrientation(6)), 6);
      assert.deepEqual([r6.width, r6.height], [8, 16]);
      assert.ok(mean(r6, 0, 0, 8, 6) < 0.1 && mean(r6, 0, 10, 8, 16) > 0.9, 'left (black) half is on top after a clockwise turn');
      const r8 = decodeImage(withOrientation(8), 'r8.jpg');
      assert.ok(mean(r8, 0, 0, 8, 6) > 0.9 && mean(r8, 0, 10, 8, 16) < 0.1, 'left half is at the bottom after a counter-clockwise turn');
      const r3 = decodeImage(withOrientation(3), 'r3.jpg');
      assert.deepEqual([r3.width, r3.height], [16, 8]);
      assert.ok(mean(r3, 0, 0, 6, 8) > 0.9 && mean(r3, 10, 0, 16, 8) < 0.1, 'halves swap sides after 180°');
    });
  });

  describe('CLI with model files', () => {
    async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
      return { code, out, err: err.filter((l) => !l.startsWith('backend: ')) };
    }

    it('predict --json --model <file.onnx>: probabilities as onnxruntime gives them; a non-image and a truncated image get one line each', async () => {
      const t = tempDir();
      try {
        // A 28×28 RGBA image, half transparent: composited, converted to gray, and said so.
        const data = new Float32Array(28 * 28 * 4).map((_, i) => (i % 4 === 3 ? (i < 28 * 14 * 4 ? 0 : 1) : ((i * 7) % 11) / 10));
        const png = join(t.dir, 'a.png');
        writeFileSync(png, encodePng({ width: 28, height: 28, channels: 4, data }));
        const text = join(t.dir, 'notes.png');
        writeFileSync(text, 'this is not an image');
        const cut = join(t.dir, 'cut.png');
        writeFileSync(cut, readFileSync(png).subarray(0, 60));
        const r = await cli('predict', '--json', '--backend', 'wasm', '--model', join(ONNX, 'cnn28.onnx'), png, text, cut);
        assert.equal(r.code, 1);
        assert.equal(r.out.length, 1);
        const line = JSON.parse(r.out[0]) as { file: string; probabilities: number[]; notes: string[] };
        assert.equal(line.file, png);
        assert.deepEqual(line.notes, ['transparent pixels composited onto #000000 (black, the model\'s zero input; its preprocessing has no mean)', 'RGB image converted to gray (the model takes 1 channel)']);
        assert.equal(r.err.length, 2);
        assert.match(r.err[0], new RegExp(`^xai-lens: ${text}: unknown image format`));
        assert.match(r.err[1], new RegExp(`^xai-lens: ${cut}: `));
        // The same pixels through onnxruntime.
        const gray = prepareForModel({ width: 28, height: 28, channels: 4, data: decodeImage(new Uint8Array(readFileSync(png)), png).data }, [28, 28, 1], undefined, { rgb: [0, 0, 0], reason: '' });
        const ref = softmaxRows(await ortRun(join(ONNX, 'cnn28.onnx'), gray.image.data, [1, 1, 28, 28]), 10);
        assert.ok(maxAbsDiff(line.probabilities, ref) <= 1e-4, `max difference ${maxAbsDiff(line.probabilities, ref)}`);
      } finally {
        t.cleanup();
      }
    });

    it('info --model prints a generated card for .keras, .h5, graph and ONNX models; a bad model file is one line', async () => {
      for (const [model, format] of [[join(KERAS, 'tiny28.keras'), 'keras'], [join(KERAS, 'tiny28.h5'), 'keras-h5'], [join(MODELS, 'tfjs-graph', 'cnn32'), 'tfjs-graph'], [join(ONNX, 'nhwc32.onnx'), 'onnx']]) {
        const r = await cli('info', '--json', '--model', model);
        assert.equal(r.code, 0, r.err.join('\n'));
        const card = JSON.parse(r.out[0]) as { modelFormat: string; inputShape: number[]; params: number; layers: unknown[]; preprocessing: { range: number[] } };
        assert.equal(card.modelFormat, format);
        assert.equal(card.inputShape.length, 3);
        assert.ok(card.params > 0 && card.layers.length > 3, model);
        assert.deepEqual(card.preprocessing.range, [0, 1]);
      }
      const bad = await cli('info', '--model', join(ONNX, 'bad-two-inputs.onnx'));
      assert.equal(bad.code, 2);
      assert.deepEqual(bad.err, [`xai-lens: ${join(ONNX, 'bad-two-inputs.onnx')}: takes 2 inputs (input, mask); an image classifier takes one image`]);
    });
  });
});
