import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend/backends';
import { loadMnist, splitTrainVal, subset, type ImageDataset } from '../../src/engine/data/datasets';
import { train, type TrainEvent, type TrainOptions } from '../../src/engine/training/trainer';
import { loadModel } from '../../src/engine/io/modelFolder';
import { evaluateModel } from '../../src/engine/inference';
import type { ModelCard } from '../../src/engine/modelCard';
import { tempDir } from './helpers';

async function collect(opts: TrainOptions, onEvent?: (ev: TrainEvent) => void): Promise<TrainEvent[]> {
  const events: TrainEvent[] = [];
  for await (const ev of train(opts)) {
    events.push(ev);
    onEvent?.(ev);
  }
  return events;
}

describe('training', function () {
  this.timeout(300_000);
  const tmp = tempDir();
  let trainDs: ImageDataset;
  let valDs: ImageDataset;
  let testDs: ImageDataset;
  const base = (outDir: string): TrainOptions => ({
    architecture: 'cbam-mobilenetv2', dataSpec: 'mnist', train: trainDs, validation: valDs, test: testDs, outDir,
    epochs: 2, batchSize: 32, learningRate: 2e-3, modelOptions: { alpha: 0.5, stemStride: '2' }, seed: 5, backend: 'wasm', progressIntervalMs: 0, augmentation: false,
  });

  before(async () => {
    await initBackend('wasm');
    const full = await loadMnist('train');
    const { train: t, val } = splitTrainVal(subset(full, Array.from({ length: 1200 }, (_, i) => i)), 1 / 6, 1);
    trainDs = t;
    valDs = val;
    testDs = subset(await loadMnist('test'), Array.from({ length: 300 }, (_, i) => i));
  });
  after(() => tmp.cleanup());

  it('trains, validates every epoch, checkpoints atomically and writes a model card', async () => {
    const dir = join(tmp.dir, 'run');
    const events = await collect(base(dir));
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'start');
    assert.equal(types[types.length - 1], 'done');
    assert.equal(types.filter((t) => t === 'epoch').length, 2);
    assert.equal(types.filter((t) => t === 'checkpoint').length, 2);
    const progress = events.filter((e): e is Extract<TrainEvent, { type: 'progress' }> => e.type === 'progress');
    assert.ok(progress.length >= 2 * Math.ceil(1000 / 32) - 1);
    for (const p of progress) {
      assert.ok(p.imagesPerSecond > 0 && Number.isFinite(p.etaSeconds) && p.loss > 0);
    }
    const epochs = events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch').map((e) => e.record);
    assert.ok(epochs[1].trainLoss < epochs[0].trainLoss, 'training loss falls');
    // 32 steps are too few for batch-norm moving statistics to settle, so judge learning on the training batches.
    assert.ok(epochs[1].trainAccuracy > 0.3, `training accuracy ${epochs[1].trainAccuracy} (chance: 0.1)`);
    assert.ok(Number.isFinite(epochs[1].valLoss) && epochs[1].valAccuracy >= 0);

    const files = readdirSync(dir);
    for (const f of ['model.json', 'model-card.json', 'metrics.json', 'checkpoint.json', 'optimizer.bin']) assert.ok(files.includes(f), f);
    assert.equal(files.filter((f) => /^weights-[0-9a-f]+\.bin$/.test(f)).length, 1);
    assert.equal(files.filter((f) => f.endsWith('.tmp')).length, 0, 'no temp files left');
    const card = JSON.parse(readFileSync(join(dir, 'model-card.json'), 'utf8')) as ModelCard;
    assert.equal(card.architecture, 'cbam-mobilenetv2');
    assert.equal(card.dataset.hash, trainDs.hash);
    assert.equal(card.dataset.train, 1000);
    assert.equal(card.training.epochs, 2);
    assert.equal(card.training.completed, true);
    assert.deepEqual(card.inputShape, [28, 28, 1]);
    assert.ok(card.params > 0 && card.macsPerImage > 0);
    // The card's test metrics describe the saved model.
    const model = await loadModel(dir);
    const ev = evaluateModel(model, { ...testDs, numClasses: 10 });
    assert.ok(Math.abs(ev.accuracy - card.metrics.testAccuracy!) < 1e-9);
    assert.ok(Math.abs(ev.loss - card.metrics.testLoss!) < 1e-5);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as unknown[];
    assert.equal(metrics.length, 2);
    model.dispose();
  });

  it('a batch over the memory budget trains in the largest batch that fits, and the start event says so', async () => {
    const dir = join(tmp.dir, 'small-budget');
    const before = process.env.XAI_LENS_BATCH_MEMORY_MB;
    // The model at α 0.5 holds ~1 MB of activations per 28×28 image (16 bytes a value): 6 MB fits a handful, not 32.
    process.env.XAI_LENS_BATCH_MEMORY_MB = '6';
    try {
      const controller = new AbortController();
      const events = await collect({ ...base(dir), epochs: 1, batchSize: 32, signal: controller.signal }, (ev) => {
        if (ev.type === 'progress' && ev.batch >= 3) controller.abort();
      });
      const start = events[0] as Extract<TrainEvent, { type: 'start' }>;
      assert.equal(start.notes?.length, 1);
      const m = /^training: a batch of 32 would need ~\d+ MB, over the 6 MB budget; ran batches of (\d+)$/.exec(start.notes![0]);
      assert.ok(m, start.notes![0]);
      const fitted = Number(m[1]);
      assert.ok(fitted >= 1 && fitted < 32);
      const progress = events.find((e): e is Extract<TrainEvent, { type: 'progress' }> => e.type === 'progress')!;
      assert.equal(progress.batches, Math.ceil(1000 / fitted), 'the epoch is cut into batches of the fitted size');
    } finally {
      if (before === undefined) delete process.env.XAI_LENS_BATCH_MEMORY_MB;
      else process.env.XAI_LENS_BATCH_MEMORY_MB = before;
    }
  });

  it('cancelling keeps the last complete epoch, and --resume continues from it', async () => {
    const dir = join(tmp.dir, 'cancel');
    const controller = new AbortController();
    const first = await collect({ ...base(dir), signal: controller.signal }, (ev) => {
      if (ev.type === 'progress' && ev.epoch === 2 && ev.batch >= 3) controller.abort();
    });
    const done = first[first.length - 1] as Extract<TrainEvent, { type: 'done' }>;
    assert.equal(done.cancelled, true);
    assert.equal(done.card.training.epochs, 1);
    assert.equal(done.card.training.completed, false);
    const ckpt = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { epoch: number };
    assert.equal(ckpt.epoch, 1);
    const tensorsBefore = tf.memory().numTensors;

    const augmentation = { rotationDeg: 5, translatePx: 1 };
    const resumed = await collect({ ...base(dir), resume: true, resumeLearningRate: 1e-4, augmentation });
    const start = resumed[0] as Extract<TrainEvent, { type: 'start' }>;
    assert.equal(start.startEpoch, 2);
    const epochs = resumed.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch');
    assert.equal(epochs.length, 1);
    assert.equal(epochs[0].record.learningRate, 1e-4, 'a resume can set a new learning rate');
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { augmentation: unknown }[];
    assert.deepEqual(metrics.map((m) => m.augmentation), [null, augmentation], 'metrics.json tells the augmentation of each epoch');
    const card = (resumed[resumed.length - 1] as Extract<TrainEvent, { type: 'done' }>).card;
    assert.equal(card.training.epochs, 2);
    assert.equal(card.training.completed, true);
    assert.equal(card.training.initialLearningRate, 2e-3, 'the card tells the rate the run started with');
    assert.match(card.training.schedule, /learning rate × epochs: 2\.0e-3×1, 1\.0e-4×1$/);
    assert.ok(tf.memory().numTensors <= tensorsBefore + 2, 'training releases its tensors');
  });

  it('refuses to resume a run on different data, naming the folder', async () => {
    const dir = join(tmp.dir, 'run');
    const other = subset(trainDs, Array.from({ length: 100 }, (_, i) => i));
    await assert.rejects(collect({ ...base(dir), train: other, resume: true }), new RegExp(`${dir}: cannot resume: the training data differs`));
    await assert.rejects(collect({ ...base(join(tmp.dir, 'empty')), resume: true }), /empty: cannot resume: no checkpoint.json/);
    assert.ok(!existsSync(join(tmp.dir, 'empty', 'model.json')));
  });
});
