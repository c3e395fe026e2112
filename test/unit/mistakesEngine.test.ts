/**
 * engine/mistakes through the real engine process (dist/engine-process.js, `npm run build`): the bundled model on its
 * ten sample digits filed under the wrong class, every image a known mistake, streamed one by one.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineClient } from '../../src/extension/engineClient';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import type { MistakeParams } from '../../src/shared/mistakes';
import { tempDir } from './helpers';

describe('engine/mistakes', function () {
  this.timeout(120_000);
  const script = join(packageRoot(), 'dist', 'engine-process.js');
  const tmp = tempDir();
  let client: EngineClient;

  before(function () {
    assert.ok(existsSync(script), `${script} is missing: run "npm run build" first`);
    client = new EngineClient({ script, backend: () => 'wasm', onCrash: () => undefined });
    // digit-k filed as k+1 (mod 10).
    for (let k = 0; k < 10; k++) {
      const dir = join(tmp.dir, 'wrong', String((k + 1) % 10));
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(packageRoot(), 'media', 'samples', `digit-${k}.png`), join(dir, `digit-${k}.png`));
    }
  });
  after(async () => {
    await client.stop();
    tmp.cleanup();
  });

  it('lists every mislabeled digit with its true and predicted class, streaming each as it is done', async () => {
    const streamed: MistakeParams[] = [];
    const r = await client.request('engine/mistakes', { modelDir: defaultModelDir(), data: join(tmp.dir, 'wrong'), split: 'train', limit: 4 }, { onMistake: (p) => streamed.push(p) });
    assert.equal(r.count, 10);
    assert.equal(r.errors, 10);
    assert.equal(r.accuracy, 0);
    assert.equal(r.mistakes.length, 4, '--limit keeps the most confident');
    for (const m of r.mistakes) {
      const k = Number(/digit-(\d)/.exec(m.file!)![1]);
      assert.equal(m.file, `${(k + 1) % 10}/digit-${k}.png`);
      assert.equal(m.predicted, k);
      assert.equal(m.label, (k + 1) % 10);
      assert.ok(m.confidence > 0.5 && m.trueProbability < m.confidence);
    }
    assert.deepEqual(streamed.map((s) => [s.done, s.total, s.mistake.file]), r.mistakes.map((m, i) => [i + 1, 4, m.file]));
    assert.deepEqual(r.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});
