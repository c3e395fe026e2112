/**
 * Fine-tuning (training/finetune.ts, `xai-lens finetune`) on a generated folder of shapes, its output with the other
 * commands, Ctrl-C, bad input, the Keras-style epoch line, and `xai-lens mistakes` on known mislabeled images.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../../src/engine/cli';
import type { Io } from '../../src/engine/cli/common';
import { kerasEpochLine } from '../../src/engine/cli/trainOutput';
import { initBackend } from '../../src/engine/backend/backends';
import { loadDataset } from '../../src/engine/data/datasets';
import { evaluateModel } from '../../src/engine/inference';
import { loadModel, saveModel, readModelCard } from '../../src/engine/io/modelFolder';
import { stageFolder } from '../../src/engine/io/stagedFolder';
import { decodeImage, encodePng } from '../../src/engine/image/decode';
import { getArchitecture, ARCHITECTURES, ATTENTIONS } from '../../src/engine/models/zoo';
import { defaultHeadEpochs, freezePlan, parseInputSize, rebuildForInput, replaceHead, stagePrefixes } from '../../src/engine/training/finetune';
import { FINETUNE_LEARNING_RATE } from '../../src/engine/cli/finetune';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import type { ModelCard } from '../../src/engine/modelCard';
import type { MistakesReport } from '../../src/engine/mistakes';
import { tempDir } from './helpers';
import { SHAPES, writeShapesFolder } from './shapesFolder';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const errors = (r: Run) => r.err.filter((l) => !l.startsWith('backend: '));

describe('fine-tuning', function () {
  this.timeout(300_000);
  const tmp = tempDir();
  const shapes = join(tmp.dir, 'shapes');
  const tuned = join(tmp.dir, 'tuned');

  before(async () => {
    await initBackend('wasm');
    writeShapesFolder(shapes, { perClass: 120, testPerClass: 30, seed: 3 });
  });
  after(() => tmp.cleanup());

  it('beats the untrained head on a generated 3-class folder, and records base, data hash and recipe', async () => {
    const test = await loadDataset(shapes, 'test', [28, 28, 1]);
    const base = await loadModel(defaultModelDir());
    const untrained = replaceHead(base, { numClasses: 3, seed: 1 });
    const before = evaluateModel(untrained.model, test).accuracy;
    base.dispose();

    const r = await cli('finetune', '--from', 'default', '--data', shapes, '--epochs', '3', '--out', tuned, '--threads', '1', '--json');
    assert.equal(r.code, 0, errors(r).join('\n'));
    const events = r.out.map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual([...new Set(events.map((e) => e.type))], ['start', 'progress', 'epoch', 'checkpoint', 'done']);
    assert.ok(errors(r).some((l) => /head only for epoch 1, then all layers for 2/.test(l)), errors(r).join('\n'));
    const epochLines = errors(r).filter((l) => l.startsWith('Epoch ') && / - val_accuracy: /.test(l));
    assert.equal(epochLines.length, 3);
    assert.match(epochLines[0], /^Epoch 1\/3 - (\d+m)?\d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - lr: \d\.\de-\d - ETA (\d+m)?\d+s \(head only\)$/);

    const card = (await readModelCard(tuned))!;
    const after = card.metrics.testAccuracy!;
    assert.ok(after > before + 0.3 && after >= 0.8, `test accuracy ${before} untrained head → ${after} fine-tuned`);
    assert.deepEqual(card.classNames, [...SHAPES]);
    assert.equal(card.architecture, 'cbam-mobilenetv2');
    assert.equal(card.finetune?.data.hash, (await loadDataset(shapes, 'train', [28, 28, 1])).hash);
    assert.equal(card.finetune?.data.count, 360);
    assert.equal(card.finetune?.base.model, defaultModelDir());
    assert.equal(card.finetune?.base.datasetHash, (await readModelCard(defaultModelDir()))!.dataset.hash);
    assert.deepEqual(card.finetune?.recipe.inputSize, [28, 28, 1]);
    assert.equal(card.finetune?.recipe.headEpochs, 1);
    assert.equal(card.finetune?.recipe.learningRate, FINETUNE_LEARNING_RATE);
    assert.equal(card.finetune?.recipe.augmentation, null, 'no augmentation unless --augment');
    assert.equal(card.dataset.validation + card.dataset.train, 360, 'a validation split is held out');
    assert.ok(card.dataset.validation >= 30);
  });

  it('its output works with predict, evaluate, explain and finetune again', async () => {
    const image = join(shapes, 'test', 'square', '000.png');
    const p = await cli('predict', '--model', tuned, '--json', image);
    assert.equal(p.code, 0, errors(p).join('\n'));
    assert.equal((JSON.parse(p.out[0]) as { probabilities: number[] }).probabilities.length, 3);
    const e = await cli('evaluate', '--model', tuned, '--data', shapes, '--json');
    assert.equal(e.code, 0, errors(e).join('\n'));
    const card = (await readModelCard(tuned))!;
    assert.ok(Math.abs((JSON.parse(e.out[0]) as { accuracy: number }).accuracy - card.metrics.testAccuracy!) < 1e-9, 'evaluate agrees with the card');
    // A held-out folder without train/ and test/, holding two of the three classes: evaluated whole, its labels
    // matched to the model's classes by name (by index, "square" would count as the model's "circle").
    const heldOut = join(tmp.dir, 'held-out');
    for (const k of ['square', 'triangle']) {
      mkdirSync(join(heldOut, k), { recursive: true });
      for (const f of readdirSync(join(shapes, 'test', k))) copyFileSync(join(shapes, 'test', k, f), join(heldOut, k, f));
    }
    const h = await cli('evaluate', '--model', tuned, '--data', heldOut, '--json');
    assert.equal(h.code, 0, errors(h).join('\n'));
    const judged = JSON.parse(h.out[0]) as { split: string; count: number; accuracy: number };
    const p2 = await cli('predict', '--model', tuned, '--json', heldOut);
    const predicted = p2.out.map((l) => JSON.parse(l) as { file: string; className: string });
    assert.equal(predicted.length, 60);
    const right = predicted.filter((x) => x.file.split(/[\\/]/).at(-2) === x.className).length;
    assert.deepEqual([judged.split, judged.count, judged.accuracy], ['all', 60, right / 60]);
    const x = await cli('explain', image, '--model', tuned, '--methods', 'gradcam', '--counterfactual', 'none', '--json', '--out', join(tmp.dir, 'x'));
    assert.equal(x.code, 0, errors(x).join('\n'));
    const again = join(tmp.dir, 'again');
    const f = await cli('finetune', '--from', tuned, '--data', shapes, '--epochs', '2', '--head-epochs', '1', '--limit', '60', '--attention', 'se', '--out', again, '--threads', '2', '--json');
    assert.equal(f.code, 0, errors(f).join('\n'));
    // Two threads across the unfreezing (the second thread is rebuilt with the new trainable layers).
    const epochs = f.out.map((l) => JSON.parse(l) as { type: string; frozen?: number; record?: { trainLoss: number } }).filter((e) => e.type === 'epoch');
    assert.deepEqual(epochs.map((e) => e.frozen !== undefined), [true, false]);
    assert.ok(epochs.every((e) => Number.isFinite(e.record!.trainLoss)));
    assert.equal((await readModelCard(again))!.training.threads, 2);
    const model = await loadModel(again);
    assert.ok(model.layers.some((l) => l.name === 'head_se'), 'an attention block before the new head');
    assert.equal((await readModelCard(again))!.finetune?.base.model, tuned);
    model.dispose();
  });

  it('Ctrl-C keeps the last complete epoch (a real SIGINT to the CLI process)', async function () {
    const cliJs = join(packageRoot(), 'dist', 'cli.js');
    if (!existsSync(cliJs)) this.skip();
    const out = join(tmp.dir, 'cancelled');
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'xai-lens.js'), 'finetune', '--from', 'default', '--data', shapes, '--epochs', '20', '--limit', '60', '--out', out, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /Epoch 1\/20 - .* - val_accuracy/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelling after this batch/);
    assert.match(stderr, /cancelled; the last complete epoch is kept/);
    const ckpt = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { epoch: number };
    assert.ok(ckpt.epoch >= 1);
    const card = JSON.parse(readFileSync(join(out, 'model-card.json'), 'utf8')) as ModelCard;
    assert.equal(card.training.completed, false);
    assert.equal(card.training.epochs, ckpt.epoch);
    (await loadModel(out)).dispose();
  });

  it('bad input: one line naming the file and the problem, corrupt images skipped and listed, mixed sizes noted', async () => {
    const bad = join(tmp.dir, 'bad');
    mkdirSync(join(bad, 'only'), { recursive: true });
    copyFileSync(join(shapes, 'train', 'circle', '000.png'), join(bad, 'only', 'a.png'));
    let r = await cli('finetune', '--from', 'default', '--data', bad, '--out', join(tmp.dir, 'x1'));
    assert.equal(r.code, 2);
    assert.deepEqual(errors(r), [`xai-lens: ${bad}: only one class folder ('only'): a classifier needs at least two, one subfolder per class`]);

    mkdirSync(join(bad, 'empty'));
    r = await cli('finetune', '--from', 'default', '--data', bad, '--out', join(tmp.dir, 'x1'));
    assert.deepEqual(errors(r), [`xai-lens: ${bad}: class folder 'empty' has no .png/.jpg/.jpeg images`]);
    assert.ok(!existsSync(join(tmp.dir, 'x1')), 'no model folder for a failed run');
    r = await cli('finetune', '--from', 'default', '--data', shapes, '--augment', '--no-augment', '--out', join(tmp.dir, 'x1'));
    assert.deepEqual([r.code, errors(r)], [2, ['xai-lens: --augment and --no-augment contradict each other']]);

    // Mixed: the shapes at 28×28 gray, some at 40×40 RGB, two corrupt files.
    const mixed = join(tmp.dir, 'mixed');
    for (const kind of ['circle', 'square'] as const) {
      mkdirSync(join(mixed, kind), { recursive: true });
      for (const f of readdirSync(join(shapes, 'train', kind)).slice(0, 20)) copyFileSync(join(shapes, 'train', kind, f), join(mixed, kind, f));
    }
    writeShapesFolder(join(tmp.dir, 'big'), { perClass: 3, size: 40, channels: 3, flat: true });
    for (const f of readdirSync(join(tmp.dir, 'big', 'circle'))) copyFileSync(join(tmp.dir, 'big', 'circle', f), join(mixed, 'circle', `big-${f}`));
    writeFileSync(join(mixed, 'circle', 'broken.png'), Buffer.from('not a png'));
    writeFileSync(join(mixed, 'square', 'cut.png'), encodePng({ width: 28, height: 28, channels: 1, data: new Float32Array(784) }).slice(0, 40));
    r = await cli('finetune', '--from', 'default', '--data', mixed, '--epochs', '1', '--out', join(tmp.dir, 'mixed-out'), '--threads', '1');
    assert.equal(r.code, 0, errors(r).join('\n'));
    const lines = errors(r);
    assert.ok(lines.some((l) => l.startsWith(`skipped ${join(mixed, 'circle', 'broken.png')}: `)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`skipped ${join(mixed, 'square', 'cut.png')}: `)), lines.join('\n'));
    assert.ok(lines.includes(`${mixed}: converted to 28×28×1: 3 of another size (40×40), 3 with another channel count of 43 images`), lines.join('\n'));
    const card = (await readModelCard(join(tmp.dir, 'mixed-out')))!;
    assert.equal(card.dataset.train + card.dataset.validation, 43);

    // A base model with another input shape: the data are resized to it.
    const small = join(tmp.dir, 'base16');
    const m = getArchitecture('mobilenetv2').build({ inputShape: [16, 16, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 1 });
    await saveModel(m, small);
    m.dispose();
    r = await cli('finetune', '--from', small, '--data', shapes, '--epochs', '1', '--limit', '30', '--out', join(tmp.dir, 'from16'), '--threads', '1');
    assert.equal(r.code, 0, errors(r).join('\n'));
    assert.deepEqual((await readModelCard(join(tmp.dir, 'from16')))!.inputShape, [16, 16, 1]);
    assert.equal(r.err.filter((l) => /internal error|at .*\.js:\d+/.test(l)).length, 0);
    assert.ok(r.err.includes(`${join(shapes, 'train')}: converted to 16×16×1: 360 of another size (28×28) of 360 images`), r.err.join('\n'));
    const firstError = (x: Run) => errors(x).find((l) => l.startsWith('xai-lens: ')) ?? errors(x).join('\n');

    r = await cli('finetune', '--from', small, '--data', shapes, '--freeze', 'block99', '--out', join(tmp.dir, 'x2'));
    assert.match(firstError(r), /^xai-lens: --freeze: no stage "block99" in the base model; expected none, backbone or a comma list of: stem, block0, /);
    r = await cli('finetune', '--from', small, '--data', shapes, '--attention', 'nope', '--out', join(tmp.dir, 'x2'));
    assert.match(firstError(r), /^xai-lens: --attention must be none or one of se, cbam/);
    r = await cli('finetune', '--from', small, '--data', shapes, '--input-size', '32x32', '--out', join(tmp.dir, 'x2'));
    assert.deepEqual(errors(r), ['xai-lens: --input-size must be HxWxC with C 1 or 3 (e.g. 32x32x3), got "32x32"']);
  });

  it('a good model in --out is replaced only by a complete one', async () => {
    const target = join(tmp.dir, 'good');
    const m = getArchitecture('mobilenetv2').build({ inputShape: [28, 28, 1], numClasses: 10, options: { alpha: 0.35 }, seed: 1 });
    await saveModel(m, target);
    m.dispose();
    const before = readFileSync(join(target, 'model.json'), 'utf8');
    const staged = stageFolder(target);
    assert.equal(staged.staged, true);
    mkdirSync(staged.dir, { recursive: true });
    writeFileSync(join(staged.dir, 'weights-partial.bin'), 'half');
    await staged.abandon();
    assert.equal(readFileSync(join(target, 'model.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.startsWith('.good.')), []);

    const r = await cli('finetune', '--from', target, '--data', shapes, '--epochs', '1', '--limit', '30', '--out', target, '--threads', '1');
    assert.equal(r.code, 0, errors(r).join('\n'));
    assert.notEqual(readFileSync(join(target, 'model.json'), 'utf8'), before);
    assert.deepEqual((await readModelCard(target))!.classNames, [...SHAPES]);
    assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.startsWith('.good.')), [], 'no staging folder left');
    assert.equal(readdirSync(target).filter((f) => /^weights-.*\.bin$/.test(f)).length, 1);
  });

  it('builds a new head (with each attention kind) on a tiny-width 224×224×3 model, and rebuilds a 28×28 base at 224×224×3', async () => {
    const base = getArchitecture('mobilenetv2').build({ inputShape: [224, 224, 3], numClasses: 10, options: { alpha: 0.1 }, seed: 1 });
    for (const a of ['none', ...ATTENTIONS.map((x) => x.id)]) {
      const head = replaceHead(base, { numClasses: 4, attention: a, seed: 2 });
      const y = head.model.predict(tf.zeros([1, 224, 224, 3])) as tf.Tensor;
      assert.deepEqual(y.shape, [1, 4]);
      assert.ok(Math.abs(y.sum().dataSync()[0] - 1) < 1e-5);
      y.dispose();
      assert.equal(head.headLayers.includes(`head_${a}`), a !== 'none');
      const plan = freezePlan('default', head, 5, defaultHeadEpochs(5));
      assert.deepEqual(plan, { layers: head.backboneLayers, untilEpoch: 1 });
      assert.ok(!head.backboneLayers.includes('logits'));
    }
    assert.deepEqual(stagePrefixes(replaceHead(base, { numClasses: 2 }).backboneLayers).slice(0, 3), ['stem', 'block0', 'block1']);
    base.dispose();

    const card = (await readModelCard(defaultModelDir()))!;
    const small = await loadModel(defaultModelDir());
    const rebuilt = rebuildForInput(small, card, parseInputSize('224x224x3'));
    assert.deepEqual(rebuilt.model.inputs[0].shape, [null, 224, 224, 3]);
    // The default model's stem adapted from gray to RGB: each RGB kernel is the gray one / 3.
    const gray = small.getLayer('stem_conv').getWeights()[0];
    const rgb = rebuilt.model.getLayer('stem_conv').getWeights()[0];
    assert.deepEqual(rgb.shape, [3, 3, 3, gray.shape[3]]);
    const diff = tf.sub(tf.sum(rgb, 2, true), gray).abs().max().dataSync()[0];
    assert.ok(diff < 1e-6, `stem kernels sum to the gray one (max diff ${diff})`);
    assert.ok(rebuilt.copied > 10 && rebuilt.copied <= rebuilt.total);
    small.dispose();
    rebuilt.model.dispose();
  });

  it('train builds and trains every zoo architecture from scratch (one step each)', async () => {
    const flat = join(tmp.dir, 'flat');
    writeShapesFolder(flat, { perClass: 4, flat: true, seed: 9 });
    for (const arch of ARCHITECTURES) {
      const out = join(tmp.dir, 'scratch', arch.id);
      const r = await cli('train', '--model', arch.id, '--data', flat, '--epochs', '1', '--batch-size', '16', '--no-augment', '--threads', '1', '--out', out);
      assert.equal(r.code, 0, `${arch.id}: ${errors(r).join('\n')}`);
      const card = (await readModelCard(out))!;
      assert.equal(card.architecture, arch.id);
      assert.deepEqual(card.classNames, [...SHAPES]);
      (await loadModel(out)).dispose();
    }
  });

  it('prints one Keras-style line per epoch', () => {
    const line = kerasEpochLine(
      { epoch: 3, learningRate: 1e-3, trainLoss: 0.12344, trainAccuracy: 0.96123, valLoss: 0.2, valAccuracy: 0.95, seconds: 12.4, imagesPerSecond: 100 },
      5, 24.6,
    );
    assert.equal(line, 'Epoch 3/5 - 12s - loss: 0.1234 - accuracy: 0.9612 - val_loss: 0.2000 - val_accuracy: 0.9500 - lr: 1.0e-3 - ETA 25s');
    const last = kerasEpochLine({ epoch: 5, learningRate: 2.5e-4, trainLoss: 0.1, trainAccuracy: 0.9, valLoss: 0.1, valAccuracy: 0.9, seconds: 75, imagesPerSecond: 1 }, 5, 0);
    assert.equal(last, 'Epoch 5/5 - 1m15s - loss: 0.1000 - accuracy: 0.9000 - val_loss: 0.1000 - val_accuracy: 0.9000 - lr: 2.5e-4');
  });

  it('mistakes --json lists known mislabeled images, most confident first, with Grad-CAM thumbnails and a counterfactual', async () => {
    // The test split with two circles filed as squares and one triangle as a circle.
    const data = join(tmp.dir, 'mislabeled');
    for (const kind of SHAPES) {
      mkdirSync(join(data, kind), { recursive: true });
      for (const f of readdirSync(join(shapes, 'test', kind)).slice(5)) copyFileSync(join(shapes, 'test', kind, f), join(data, kind, f));
    }
    const planted = ['square/x-circle-0.png', 'square/x-circle-1.png', 'circle/x-triangle-2.png'];
    copyFileSync(join(shapes, 'test', 'circle', '000.png'), join(data, 'square', 'x-circle-0.png'));
    copyFileSync(join(shapes, 'test', 'circle', '001.png'), join(data, 'square', 'x-circle-1.png'));
    copyFileSync(join(shapes, 'test', 'triangle', '002.png'), join(data, 'circle', 'x-triangle-2.png'));
    const r = await cli('mistakes', '--model', tuned, '--data', data, '--limit', '20', '--counterfactual', 'gradient', '--json');
    assert.equal(r.code, 0, errors(r).join('\n'));
    assert.equal(r.out.length, 1);
    const report = JSON.parse(r.out[0]) as MistakesReport;
    assert.equal(report.count, 3 * 25 + 3);
    assert.equal(report.mistakes.length, Math.min(20, report.errors));
    const files = report.mistakes.map((m) => m.file);
    for (const p of planted) assert.ok(files.includes(p), `${p} listed among ${files.join(', ')}`);
    const circle0 = report.mistakes.find((m) => m.file === 'square/x-circle-0.png')!;
    assert.deepEqual([report.classNames[circle0.label], report.classNames[circle0.predicted]], ['square', 'circle']);
    for (let i = 1; i < report.mistakes.length; i++) assert.ok(report.mistakes[i - 1].confidence >= report.mistakes[i].confidence, 'sorted by confidence');
    for (const m of report.mistakes) {
      assert.ok(m.confidence > m.trueProbability);
      const thumb = decodeImage(Buffer.from(m.gradcamPng, 'base64'), 'thumbnail');
      assert.deepEqual([thumb.width, thumb.height, thumb.channels], [56, 56, 3]);
    }
    const cf = report.mistakes[0].counterfactual!;
    assert.equal(cf.method, 'gradient');
    assert.equal(report.mistakes.filter((m) => m.counterfactual).length, 1);
    if (cf.found) assert.equal(cf.label, report.mistakes[0].label, 'the counterfactual reaches the true class');
    assert.equal(decodeImage(Buffer.from(cf.png, 'base64'), 'cf').width, 28);
  });
});
