/**
 * The `xai-lens` CLI through its `main` entry, with captured output: the JSON contract of predict, evaluate/predict
 * agreement on the bundled model, and one-line errors for bad input.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { getArchitecture } from '../../src/engine/models/zoo';
import { saveModel } from '../../src/engine/io/modelFolder';
import { loadMnist } from '../../src/engine/data/datasets';
import { encodePng, readImageFile } from '../../src/engine/image/decode';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import { runCli, tempDir, type CliRun } from './helpers';
import { predictCommand } from '../../src/engine/cli/predict';
import { SHAPES, writeShapesFolder } from './shapesFolder';

type Run = CliRun;
const cli = runCli;

/** Error lines, without the informational backend line. */
function errors(r: Run): string[] {
  return r.err.filter((l) => !l.startsWith('backend: '));
}

describe('cli', function () {
  this.timeout(120_000);
  const tmp = tempDir();
  const samples = join(packageRoot(), 'media', 'samples');
  let untrained: string;

  before(async () => {
    await initBackend('wasm');
    untrained = join(tmp.dir, 'untrained');
    const model = getArchitecture('mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 1 });
    await saveModel(model, untrained);
    model.dispose();
  });
  after(() => tmp.cleanup());

  it('predict --json prints exactly one JSON object per image, in order', async () => {
    const files = [join(samples, 'digit-3.png'), join(samples, 'digit-1.png')];
    const r = await cli('predict', '--model', untrained, '--json', ...files);
    assert.equal(r.code, 0);
    assert.equal(r.out.length, 2);
    r.out.forEach((line, i) => {
      const obj = JSON.parse(line) as { file: string; label: number; probabilities: number[] };
      assert.deepEqual(Object.keys(obj), ['file', 'label', 'className', 'probabilities', 'backend']);
      assert.equal(obj.file, files[i]);
      assert.equal(obj.probabilities.length, 10);
      assert.ok(Math.abs(obj.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
      assert.equal(obj.label, obj.probabilities.indexOf(Math.max(...obj.probabilities)));
    });
  });

  it('answers the good images of a batch and reports each bad one in one line', async () => {
    const corrupt = join(tmp.dir, 'corrupt.png');
    writeFileSync(corrupt, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('garbage')]));
    const notImage = join(tmp.dir, 'notes.png');
    writeFileSync(notImage, 'hello');
    const missing = join(tmp.dir, 'missing.png');
    const good = join(samples, 'digit-7.png');
    const r = await cli('predict', '--model', untrained, '--json', corrupt, good, missing, notImage);
    assert.equal(r.code, 1);
    assert.equal(r.out.length, 1);
    assert.equal((JSON.parse(r.out[0]) as { file: string }).file, good);
    const errs = errors(r);
    assert.equal(errs.length, 3);
    assert.match(errs[0], new RegExp(`^xai-lens: ${corrupt}: corrupt PNG`));
    assert.match(errs[1], new RegExp(`^xai-lens: ${missing}: .*not found`));
    assert.match(errs[2], new RegExp(`^xai-lens: ${notImage}: .*(unknown|not a PNG or JPEG)`));
    for (const e of errs) assert.ok(!e.includes('\n') && !/\bat \w+ \(/.test(e), 'no stack trace');
  });

  it('predict takes folders: every image under them in sorted order, predicted chunk by chunk as when listed one by one', async () => {
    const dir = join(tmp.dir, 'predict-folder');
    writeShapesFolder(dir, { perClass: 3, seed: 5, flat: true });
    writeFileSync(join(dir, 'square', 'broken.png'), 'not a png');
    const empty = join(tmp.dir, 'predict-empty');
    mkdirSync(empty, { recursive: true });
    const listed = SHAPES.flatMap((k) => [...(k === 'square' ? ['broken.png'] : []), '000.png', '001.png', '002.png'].map((f) => join(dir, k, f)));
    const one = await cli('predict', '--model', untrained, '--json', ...listed);
    const io = { out: [] as string[], err: [] as string[] };
    // Four images per chunk: three chunks, one with the broken image.
    const code = await predictCommand({ model: untrained, json: true }, [dir, empty], { out: (l) => io.out.push(l), err: (l) => io.err.push(l), isTty: false }, 4 * 28 * 28);
    assert.equal(code, 1);
    assert.equal(one.code, 1);
    type Line = { file: string; probabilities: number[] };
    const a = one.out.map((l) => JSON.parse(l) as Line);
    const b = io.out.map((l) => JSON.parse(l) as Line);
    assert.deepEqual(b.map((x) => x.file), listed.filter((f) => !f.endsWith('broken.png')));
    assert.deepEqual(b.map((x) => x.file), a.map((x) => x.file));
    b.forEach((x, i) => x.probabilities.forEach((p, j) => assert.ok(Math.abs(p - a[i].probabilities[j]) < 1e-5, `${x.file} class ${j}`)));
    const errs = errors({ code, ...io });
    assert.equal(errs.length, 2, errs.join('\n'));
    assert.match(errs[0], new RegExp(`^xai-lens: ${empty}: no PNG or JPEG images under this folder$`));
    assert.match(errs[1], new RegExp(`^xai-lens: ${join(dir, 'square', 'broken.png')}: `));
  });

  it('rejects unknown flags, commands, models and backends with one line and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['predict', '--bogus', 'x.png'], /Unknown option '--bogus'.*usage: xai-lens predict/],
      [['fly'], /unknown command "fly"; expected one of train, evaluate, predict, explain, explain-folder, layers, describe, info, finetune, mistakes$/],
      [['predict', '--model', join(tmp.dir, 'nope'), 'x.png'], /nope: model not found/],
      [['train', '--model', 'resnet9000', '--data', 'mnist'], /unknown model "resnet9000"/],
      [['predict', '--backend', 'tpu', 'x.png'], /unknown backend "tpu"; expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/],
      [['train', '--model', 'cbam-mobilenetv2', '--data', 'mnist', '--epochs', 'two'], /--epochs must be an integer >= 1, got "two"/],
      [['evaluate', '--model', untrained, '--data', 'imagenet'], /imagenet/],
      [['predict'], /no images given/],
      [['explain', join(samples, 'digit-1.png'), '--model', untrained, '--methods', 'gradcam,occlusion'], /unknown method "occlusion"; available: gradcam, .*, all/],
      [['explain', join(samples, 'digit-1.png'), '--model', untrained, '--layer', 'nope', '--methods', 'gradcam'], /unknown layer "nope"; 4-D layers: /],
      [['explain', join(samples, 'digit-1.png'), '--model', untrained, '--class', '12'], /--class must be an integer >= 0 <= 9, got "12"/],
      [['explain', join(samples, 'digit-1.png'), '--model', untrained, '--counterfactual', 'magic'], /unknown counterfactual method "magic"/],
      [['explain', join(tmp.dir, 'missing.png'), '--model', untrained], /missing.png: .*not found/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      const errs = errors(r);
      assert.equal(errs.length, 1, `${argv.join(' ')}: ${errs.join(' | ')}`);
      assert.match(errs[0], pattern);
    }
  });

  it('names the file and the problem for a bad IDX header', async () => {
    const dir = join(tmp.dir, 'fashion');
    mkdirSync(dir);
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(dir, f), Buffer.from([1, 2, 3, 4, 0, 0, 0, 1]));
    const r = await cli('evaluate', '--model', untrained, '--data', `fashion-mnist:${dir}`);
    assert.equal(r.code, 2);
    assert.match(errors(r)[0], new RegExp(`${join(dir, 't10k-')}\\S*: bad IDX header: magic 0x01020304`));
  });

  it('warns loudly when the cpu backend is chosen', async () => {
    const r = await cli('predict', '--backend', 'cpu', '--model', untrained, join(samples, 'digit-0.png'));
    assert.equal(r.code, 0);
    assert.ok(r.err.some((l) => l.startsWith('backend: cpu')));
    assert.ok(r.err.some((l) => /WARNING: using the pure-JavaScript "cpu" backend/.test(l)));
    await initBackend('wasm');
  });

  describe('with the bundled default model', () => {
    it('explain --json writes one report, one overlay per method, and a counterfactual that flips predict', async () => {
      const out = join(tmp.dir, 'explain');
      const file = join(samples, 'digit-4.png');
      const r = await cli('explain', file, '--methods', 'all', '--json', '--out', out);
      assert.equal(r.code, 0, r.err.join('\n'));
      assert.equal(r.out.length, 1);
      const report = JSON.parse(r.out[0]) as {
        file: string; model: string; backend: string; prediction: { label: number; probabilities: number[] }; target: number;
        methods: Record<string, { heatmap: number[][]; png: string; ms: number }>;
        counterfactual: { method: string; label: number; probability: number; png: string; diff_png: string; model_png: string; l0: number; l1: number; l2: number; linf: number; ms: number };
        metrics: Record<string, { deletion_auc: number; insertion_auc: number; clarity: number; random_deletion_auc: number }>;
      };
      for (const k of ['file', 'model', 'backend', 'prediction', 'target', 'methods', 'counterfactual', 'metrics']) assert.ok(k in report, k);
      assert.equal(report.file, file);
      assert.equal(report.prediction.label, 4);
      assert.equal(report.target, 4);
      assert.deepEqual(Object.keys(report.methods), ['gradcam', 'gradcampp', 'scorecam', 'gradients', 'smoothgrad', 'ig', 'lime', 'attention']);
      for (const [id, m] of Object.entries(report.methods)) {
        assert.equal(m.heatmap.length, 28, id);
        assert.ok(m.heatmap.every((row) => row.length === 28 && row.every(Number.isFinite)), id);
        assert.ok(existsSync(m.png), m.png);
        const png = await readImageFile(m.png);
        assert.ok(png.width >= 280 && png.width % 28 === 0, 'pixel-exact upscale');
        assert.ok(report.metrics[id].deletion_auc >= 0 && report.metrics[id].clarity > 0);
      }
      const cf = report.counterfactual;
      assert.notEqual(cf.label, 4);
      assert.ok(cf.l0 > 0 && cf.l2 > 0 && cf.linf <= 1);
      assert.ok(existsSync(cf.diff_png));
      const p = await cli('predict', '--json', cf.png, cf.model_png);
      assert.deepEqual(p.out.map((l) => (JSON.parse(l) as { label: number }).label), [cf.label, cf.label], 'both counterfactual PNGs flip predict');
      const display = await readImageFile(cf.png);
      const modelSize = await readImageFile(cf.model_png);
      assert.deepEqual([modelSize.width, modelSize.height, display.width % 28], [28, 28, 0], 'model resolution, and a pixel-exact upscale of it');
    });

    it('info prints its model card', async () => {
      const r = await cli('info');
      assert.equal(r.code, 0);
      const card = JSON.parse(r.out.join('\n')) as { dir: string; architecture: string; params: number; metrics: { testAccuracy: number } };
      assert.equal(card.dir, defaultModelDir());
      assert.equal(card.architecture, 'cbam-mobilenetv2');
      assert.ok(card.params <= 500_000);
      assert.ok(card.metrics.testAccuracy >= 0.99);
    });

    it('predicts every bundled sample digit correctly', async () => {
      const files = readdirSync(samples).filter((f) => f.endsWith('.png')).sort();
      assert.equal(files.length, 10);
      const r = await cli('predict', '--json', ...files.map((f) => join(samples, f)));
      assert.equal(r.code, 0);
      const labels = r.out.map((l) => (JSON.parse(l) as { label: number }).label);
      assert.deepEqual(labels, files.map((f) => Number(/digit-(\d)/.exec(f)![1])));
    });

    it('evaluate and predict agree on the same MNIST test digits', async () => {
      const n = 200;
      const test = await loadMnist('test');
      const dir = join(tmp.dir, 'digits');
      mkdirSync(dir);
      const files: string[] = [];
      for (let i = 0; i < n; i++) {
        const f = join(dir, `${i}.png`);
        writeFileSync(f, encodePng({ width: 28, height: 28, channels: 1, data: test.images.slice(i * 784, (i + 1) * 784) }));
        files.push(f);
      }
      const p = await cli('predict', '--json', ...files);
      const correct = p.out.filter((l, i) => (JSON.parse(l) as { label: number }).label === test.labels[i]).length;
      const e = await cli('evaluate', '--data', 'mnist', '--limit', String(n), '--json');
      assert.equal(e.code, 0);
      const report = JSON.parse(e.out[0]) as { accuracy: number; count: number; confusion: number[][]; perClassAccuracy: number[] };
      assert.equal(report.count, n);
      assert.equal(report.accuracy, correct / n);
      assert.ok(report.accuracy >= 0.98, `accuracy ${report.accuracy}`);
      assert.equal(report.confusion.flat().reduce((a, b) => a + b, 0), n);
      assert.equal(report.perClassAccuracy.length, 10);
    });
  });

  after(() => {
    tf.disposeVariables();
  });
});
