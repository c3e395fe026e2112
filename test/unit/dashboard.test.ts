/**
 * The vscode-free parts of training from the editor: the wire events (checked against a real engine run), line
 * splitting, TensorBoard smoothing, Keras-style epoch lines, the confusion matrix's drawing data, the `xaiLens` task
 * definition (its manifest schema checked against the engine's zoo), the dashboard's folding of events into curves,
 * and the mistakes gallery's filter and sort.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend/backends';
import { loadMnist, splitTrainVal, subset } from '../../src/engine/data/datasets';
import { train, type TrainEvent } from '../../src/engine/training/trainer';
import { ARCHITECTURES, ATTENTIONS } from '../../src/engine/models/zoo';
import { LineSplitter, parseTrainingEvent, type TrainingEvent } from '../../src/shared/trainingEvents';
import { confusionView, kerasDuration, kerasEpochLine, kerasNumber, remainingSeconds, smooth } from '../../src/shared/trainingMath';
import { TASK_FIELDS, defaultRunFolder, taskCliArgs, taskLabel, taskProblem } from '../../src/shared/trainTask';
import { PANEL_LIST } from '../../src/shared/panels';
import { alignSeries, viewOf } from '../../webview-ui/src/dashboard/series';
import { ANY, classCounts, filterMistakes } from '../../webview-ui/src/mistakes/filter';
import type { Mistake } from '../../src/shared/mistakesProtocol';
import { tempDir } from './helpers';

describe('training events on the wire', function () {
  this.timeout(120_000);
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('parses every event of a real engine run, serialized as the CLI does, back to the same object', async () => {
    await initBackend('wasm');
    const full = subset(await loadMnist('train'), Array.from({ length: 48 }, (_, i) => i));
    const { train: t, val } = splitTrainVal(full, 0.25, 1);
    const events: TrainEvent[] = [];
    for await (const ev of train({
      architecture: 'mobilenetv2', dataSpec: 'mnist', train: t, validation: val, outDir: join(tmp.dir, 'run'), epochs: 2, batchSize: 12,
      modelOptions: { alpha: 0.25 }, backend: 'wasm', progressIntervalMs: 0, augmentation: false,
    })) events.push(ev);
    const types = new Set<string>();
    for (const ev of events) {
      // The CLI's --json line (src/engine/cli/train.ts).
      const line = JSON.stringify(ev.type === 'done' ? { type: 'done', cancelled: ev.cancelled, card: ev.card } : ev);
      const parsed = parseTrainingEvent(line);
      assert.deepEqual(parsed, JSON.parse(line));
      types.add(parsed!.type);
    }
    for (const t of ['start', 'progress', 'epoch', 'checkpoint', 'done']) assert.ok(types.has(t), t);
    // The dashboard folds them into two epochs of curves.
    const v = viewOf(events.map((e) => JSON.parse(JSON.stringify(e)) as TrainingEvent));
    assert.deepEqual(v.curves.epochX, [1, 2]);
    assert.equal(v.trainCount, t.count);
    assert.equal(v.curves.trainX.at(-1), 2);
    assert.ok(v.done && !v.done.cancelled);
  });

  it('ignores lines that are not JSON objects and names the field of a malformed event', () => {
    assert.equal(parseTrainingEvent('threads: 2 (half of every batch in a worker thread)'), undefined);
    assert.equal(parseTrainingEvent('{not json'), undefined);
    assert.equal(parseTrainingEvent('[1,2]'), undefined);
    const record = { epoch: 1, learningRate: 1e-3, trainLoss: 'x', trainAccuracy: 0.5, valLoss: 1, valAccuracy: 0.5, seconds: 1, imagesPerSecond: 9 };
    assert.throws(() => parseTrainingEvent(JSON.stringify({ type: 'epoch', record, improved: true })), { message: 'training event epoch: "record.trainLoss" is not a number' });
    assert.throws(() => parseTrainingEvent('{"type":"party"}'), { message: 'training event party: unknown event type "party"' });
    assert.throws(() => parseTrainingEvent(JSON.stringify({ type: 'epoch', record: { ...record, trainLoss: 1 }, improved: true, confusion: [[1, 'a']] })), {
      message: 'training event epoch: "confusion" is not a matrix of numbers',
    });
    // A run without validation images reports NaN, which JSON writes as null: accepted.
    assert.equal(parseTrainingEvent(JSON.stringify({ type: 'epoch', record: { ...record, trainLoss: 1, valLoss: NaN, valAccuracy: NaN }, improved: false }))?.type, 'epoch');
  });

  it('splits chunks into lines across chunk borders', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\r\n\n{"c"'), ['{"b":2}', '']);
    assert.deepEqual(s.end(), ['{"c"']);
    assert.deepEqual(s.end(), []);
  });
});

describe('training display math', () => {
  it('smooths as TensorBoard does: debiased EMA, non-finite points passed through, constant series untouched', () => {
    assert.deepEqual(smooth([1, 0], 0.5), [1, 1 / 3]);
    // 0.6: n=1 → 2; n=2 → (0.4·2·0.6 + 0.4·4) / (1 − 0.36) = 2.08 / 0.64
    const s = smooth([2, 4], 0.6);
    assert.ok(Math.abs(s[0]! - 2) < 1e-12 && Math.abs(s[1]! - 2.08 / 0.64) < 1e-12);
    assert.deepEqual(smooth([1, NaN, 0], 0.5), [1, NaN, 1 / 3]);
    assert.deepEqual(smooth([1, null, 0], 0.5), [1, null, 1 / 3]);
    assert.deepEqual(smooth([0.3, 0.3, 0.3], 0.9), [0.3, 0.3, 0.3]);
    assert.deepEqual(smooth([3, 1, 2], 0), [3, 1, 2]);
    assert.deepEqual(smooth([], 0.5), []);
    assert.throws(() => smooth([1, 2], 1), { message: 'smoothing weight must be in [0, 1), got 1' });
  });

  it('formats numbers, durations and epoch lines like Keras', () => {
    assert.equal(kerasNumber(0.123456), '0.1235');
    assert.equal(kerasNumber(0.001), '1.0000e-03');
    assert.equal(kerasNumber(0.00025), '2.5000e-04');
    assert.equal(kerasNumber(2.5), '2.5000');
    assert.equal(kerasDuration(45.4), '45s');
    assert.equal(kerasDuration(83), '1:23');
    assert.equal(kerasDuration(3723), '1:02:03');
    assert.equal(kerasDuration(NaN), '?');
    assert.equal(
      kerasEpochLine({ epoch: 3, epochs: 10, seconds: 12.4, trainLoss: 0.12344, trainAccuracy: 0.96123, valLoss: 0.0567, valAccuracy: 0.98221, learningRate: 1e-3, etaSeconds: 84 }),
      'Epoch 3/10 - 12s - loss: 0.1234 - accuracy: 0.9612 - val_loss: 0.0567 - val_accuracy: 0.9822 - lr: 1.0000e-03 - ETA: 1:24',
    );
    // The last epoch has no ETA; a run without validation has no val_ fields.
    assert.equal(
      kerasEpochLine({ epoch: 2, epochs: 2, seconds: 3, trainLoss: 1, trainAccuracy: 0.5, valLoss: null, valAccuracy: NaN, learningRate: 0.002, etaSeconds: 0 }),
      'Epoch 2/2 - 3s - loss: 1.0000 - accuracy: 0.5000 - lr: 0.0020',
    );
    assert.equal(remainingSeconds([10, 20], 2, 5), 45);
    assert.ok(Number.isNaN(remainingSeconds([], 0, 5)));
  });

  it('turns a confusion matrix into cells with row shares, recall and accuracy', () => {
    const v = confusionView([[3, 1], [0, 2]], ['cat', 'dog']);
    assert.deepEqual(v.labels, ['cat', 'dog']);
    assert.deepEqual(v.rows.map((r) => r.map((c) => c.fraction)), [[0.75, 0.25], [0, 1]]);
    assert.deepEqual(v.rows.map((r) => r.map((c) => c.diagonal)), [[true, false], [false, true]]);
    assert.deepEqual(v.rowTotals, [4, 2]);
    assert.deepEqual(v.recall, [0.75, 1]);
    assert.equal(v.accuracy, 5 / 6);
    assert.equal(v.total, 6);
    const empty = confusionView([[0, 0], [1, 1]]);
    assert.deepEqual(empty.labels, ['0', '1']);
    assert.ok(Number.isNaN(empty.recall[0]));
    assert.equal(empty.rows[0][0].fraction, 0);
    assert.throws(() => confusionView([[1, 2], [3]]), { message: 'confusion matrix must be square, got 2 rows of lengths 2, 1' });
    assert.throws(() => confusionView([[1]], ['a', 'b']), { message: 'confusion matrix has 1 classes but 2 class names' });
  });

  it('aligns series with different x values for uPlot', () => {
    assert.deepEqual(alignSeries([{ x: [0.5, 1], y: [2, 1] }, { x: [1], y: [1.5] }]), [[0.5, 1], [2, 1], [null, 1.5]]);
  });
});

describe('the xaiLens task definition', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    contributes: { taskDefinitions: { type: string; required: string[]; properties: Record<string, { type: string; enum?: string[] }> }[] };
  };
  const def = pkg.contributes.taskDefinitions.find((d) => d.type === 'xaiLens')!;

  it('matches the engine: architectures from the zoo, attention kinds, and the fields the task understands', () => {
    assert.deepEqual(def.properties.model.enum, ARCHITECTURES.map((a) => a.id));
    assert.deepEqual(def.properties.attention.enum, ['none', ...ATTENTIONS.map((a) => a.id)]);
    assert.deepEqual(Object.keys(def.properties).sort(), Object.keys(TASK_FIELDS).filter((k) => k !== 'type').sort());
    for (const [k, p] of Object.entries(def.properties)) assert.equal(p.type, TASK_FIELDS[k], k);
  });

  it('becomes the CLI command line', () => {
    assert.deepEqual(
      taskCliArgs({ type: 'xaiLens', command: 'train', model: 'cbam-mobilenetv2', data: 'digits', epochs: 3, lr: 0.001, augment: false, limit: 50, batchSize: 16, out: 'runs/a' }),
      ['train', '--model', 'cbam-mobilenetv2', '--data', 'digits', '--epochs', '3', '--lr', '0.001', '--batch-size', '16', '--limit', '50', '--no-augment', '--out', 'runs/a', '--json'],
    );
    assert.deepEqual(
      taskCliArgs({ type: 'xaiLens', command: 'finetune', data: 'photos', attention: 'cbam', freeze: 'backbone', out: 'o' }),
      ['finetune', '--from', 'default', '--data', 'photos', '--attention', 'cbam', '--freeze', 'backbone', '--out', 'o', '--json'],
    );
    assert.deepEqual(
      taskCliArgs({ type: 'xaiLens', command: 'finetune', data: 'photos', augment: true, out: 'o' }),
      ['finetune', '--from', 'default', '--data', 'photos', '--augment', '--out', 'o', '--json'],
      'augmentation asked for explicitly (finetune runs without it by default)',
    );
    const at = new Date('2026-11-30T19:05:07.123Z');
    assert.equal(defaultRunFolder({ type: 'xaiLens', command: 'train', model: 'se-mobilenetv2', data: 'data/My Digits/' }, at), 'xai-lens-runs/se-mobilenetv2-My_Digits-2026-11-30-19-05-07');
    assert.equal(defaultRunFolder({ type: 'xaiLens', command: 'finetune', from: '/m/run1', data: 'mnist' }, at), 'xai-lens-runs/finetune-run1-mnist-2026-11-30-19-05-07');
    assert.equal(taskLabel({ type: 'xaiLens', command: 'finetune', data: 'x/photos', epochs: 1 }), 'fine-tune default model on photos, 1 epoch');
  });

  it('rejects a bad entry with one line naming the field', () => {
    assert.equal(taskProblem({ type: 'xaiLens', command: 'train', data: 'd' }), '"model" is missing (a zoo architecture, e.g. cbam-mobilenetv2)');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'fit', data: 'd' }), '"command" must be "train" or "finetune", got "fit"');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'train', model: 'm', data: 'd', epochs: 1.5 }), '"epochs" must be a positive integer, got 1.5');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'train', model: 'm', data: 'd', lr: -1 }), '"lr" must be a positive number, got -1');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'train', model: 'm', data: 'd', augment: 'no' }), '"augment" must be true or false, got "no"');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'finetune', model: 'm', data: 'd' }), '"model" applies to "train" only; "finetune" starts "from" a model');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'train', model: 'm', data: 'd', freeze: 'backbone' }), '"from", "attention" and "freeze" apply to "finetune" only');
    assert.equal(taskProblem({ type: 'xaiLens', command: 'finetune', from: 'default', data: 'd', label: 'mine', problemMatcher: [] }), undefined);
  });

  it('declares panels whose webview entries exist', () => {
    for (const p of PANEL_LIST) assert.ok(readFileSync(p.entry, 'utf8').length > 0, p.entry);
    assert.equal(new Set(PANEL_LIST.map((p) => p.id)).size, PANEL_LIST.length);
  });
});

describe('mistakes gallery filter', () => {
  const m = (id: number, trueLabel: number, predicted: number, confidence: number): Mistake =>
    ({ id, path: `/d/${id}.png`, name: `${id}.png`, trueLabel, predicted, confidence, trueProbability: 0 });
  const list = [m(0, 3, 7, 0.6), m(1, 3, 8, 0.9), m(2, 5, 7, 0.99), m(3, 3, 7, 0.6)];

  it('filters by true and predicted class and sorts by confidence (ties by id)', () => {
    assert.deepEqual(filterMistakes(list, { trueLabel: ANY, predicted: ANY, order: 'confidence-desc' }).map((x) => x.id), [2, 1, 0, 3]);
    assert.deepEqual(filterMistakes(list, { trueLabel: ANY, predicted: ANY, order: 'confidence-asc' }).map((x) => x.id), [0, 3, 1, 2]);
    assert.deepEqual(filterMistakes(list, { trueLabel: 3, predicted: ANY, order: 'confidence-desc' }).map((x) => x.id), [1, 0, 3]);
    assert.deepEqual(filterMistakes(list, { trueLabel: 3, predicted: 7, order: 'confidence-desc' }).map((x) => x.id), [0, 3]);
    assert.deepEqual(filterMistakes(list, { trueLabel: 9, predicted: ANY, order: 'confidence-desc' }), []);
    assert.deepEqual([...classCounts(list, 'predicted')], [[7, 3], [8, 1]]);
  });
});
