/** The zoo benchmark's row-by-row resume (scripts/zooBench.ts) on a tiny budget: a few steps per row. */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend/backends';
import { loadMnist, subset, type ImageDataset } from '../../src/engine/data/datasets';
import { readRows, renderZooMarkdown, runZooBench, type ZooBenchOptions } from '../../scripts/zooBench';
import { getArchitecture } from '../../src/engine/models/zoo';
import { countMacs } from '../../src/engine/models/modelStats';
import { tempDir } from './helpers';

describe('bench:zoo', function () {
  this.timeout(300_000);
  const tmp = tempDir();
  let trainDs: ImageDataset;
  let testDs: ImageDataset;
  const opts = (log: string[]): ZooBenchOptions => ({
    train: trainDs, test: testDs, architectures: ['mobilenetv2', 'se-mobilenetv2'], epochs: 2, minutes: 30, limit: 96, batchSize: 32,
    runsDir: join(tmp.dir, 'runs'), jsonPath: join(tmp.dir, 'zoo.json'), mdPath: join(tmp.dir, 'zoo.md'), backend: 'wasm', threads: 1,
    log: (l) => log.push(l),
  });

  before(async () => {
    await initBackend('wasm');
    trainDs = subset(await loadMnist('train'), Array.from({ length: 200 }, (_, i) => i));
    testDs = subset(await loadMnist('test'), Array.from({ length: 40 }, (_, i) => i));
  });
  after(() => tmp.cleanup());

  it('a killed run continues from its last epoch, finished rows are kept, and the tables are written', async () => {
    // Killed during the second epoch of the first row (3 steps per epoch): no row yet, the checkpoint of epoch 1 stays.
    const first: string[] = [];
    assert.deepEqual(await runZooBench({ ...opts(first), abortAfterSteps: 4 }), []);
    assert.ok(!existsSync(join(tmp.dir, 'zoo.json')));
    assert.equal((JSON.parse(readFileSync(join(tmp.dir, 'runs', 'mobilenetv2', 'checkpoint.json'), 'utf8')) as { epoch: number }).epoch, 1);

    const second: string[] = [];
    const rows = await runZooBench(opts(second));
    assert.match(second[0], /^mobilenetv2: resuming after \d+\.\d min$/);
    assert.ok(!second.some((l) => l.startsWith('mobilenetv2: epoch 1/')), 'epoch 1 is not trained again');
    assert.ok(second.includes('se-mobilenetv2: starting'));
    assert.deepEqual(rows.map((r) => [r.architecture, r.backbone, r.attention, r.epochs, r.completed]), [
      ['mobilenetv2', 'MobileNetV2', 'none', 2, true],
      ['se-mobilenetv2', 'MobileNetV2', 'SE', 2, true],
    ]);
    for (const r of rows) {
      assert.ok(r.params > 0 && r.macs > 0 && r.testAccuracy! >= 0 && r.testLoss! > 0 && r.trainImagesPerSecond > 0);
      const { options, ...rest } = r.settings;
      assert.deepEqual(rest, { epochsPlanned: 2, budgetMinutes: 30, trainImages: 96, testImages: 40, threads: 1 });
      // The default preset's options that the architecture has: MobileNetV2's width and stem, the attention's bottleneck.
      assert.equal(options?.alpha, 1);
      assert.equal(options?.stemStride, '2');
      assert.equal(options?.reduction, r.attention === 'none' ? undefined : 8);
    }
    assert.deepEqual(readRows(join(tmp.dir, 'zoo.json')), rows);

    const third: string[] = [];
    assert.deepEqual(await runZooBench(opts(third)), rows, 'finished rows are kept as they are');
    assert.deepEqual(third, ['mobilenetv2: kept (already in ' + join(tmp.dir, 'zoo.json') + ')', 'se-mobilenetv2: kept (already in ' + join(tmp.dir, 'zoo.json') + ')']);

    const md = readFileSync(join(tmp.dir, 'zoo.md'), 'utf8');
    assert.equal(md, renderZooMarkdown(rows));
    assert.match(md, /\| MobileNetV2 \(α 1\) \| SE \| [\d.]+ M \| [\d.]+ M \| 96 \| 2\/2 \| [\d.]+ % \(40 test images\) \|/);
    assert.match(md, /\| ResNet50 \| CBAM \| 24\.0 M \| 98\.90 % \|/);
    assert.match(md, /\| EfficientNetB0 \| CBAM \| 4\.4 M \| 97\.05 % \|/);
    assert.match(md, /\| MobileNetV2 \| CBAM \| 2\.6 M \| 97\.60 % \|/);
  });

  it('--option changes an architecture option for the rows that have it, and the table names the change', async () => {
    const dir = join(tmp.dir, 'options');
    const base = { ...opts([]), architectures: ['mobilenetv2'], epochs: 1, limit: 32, runsDir: join(dir, 'runs'), jsonPath: join(dir, 'zoo.json'), mdPath: join(dir, 'zoo.md') };
    await assert.rejects(runZooBench({ ...base, modelOptions: { dropConnect: '0' } }), /option "dropConnect": none of the rows' architectures has it/);
    const [row] = await runZooBench({ ...base, modelOptions: { stemStride: '1' } });
    assert.equal(row.settings.options?.stemStride, '1');
    // The row's model is the one the option builds (MobileNetV2's stage table follows its stem stride at 28 px).
    const arch = getArchitecture('mobilenetv2');
    const built = arch.build({ inputShape: [28, 28, 1], numClasses: 10, options: row.settings.options, seed: 1 });
    const zoo = readRows(join(tmp.dir, 'zoo.json')).find((r) => r.architecture === 'mobilenetv2')!;
    assert.deepEqual([row.params, row.macs], [built.countParams(), countMacs(built)]);
    assert.notEqual(row.params, zoo.params);
    built.dispose();
    assert.match(readFileSync(join(dir, 'zoo.md'), 'utf8'), /\| MobileNetV2 \(α 1, stemStride 1\) \| none \|/);
    assert.match(renderZooMarkdown([zoo]), /\| MobileNetV2 \(α 1\) \| none \|/);
  });
});
