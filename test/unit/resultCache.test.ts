/** The explain panel's result cache: keys by image (with its size and mtime), model and settings; least recently used first out. */
import * as assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResultCache, resultKey, type ExplainRequest } from '../../src/extension/resultCache';
import type { ExplainResultPayload } from '../../src/shared/protocol';
import { tempDir } from './helpers';

describe('ResultCache', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const image = join(tmp.dir, 'a.png');
  writeFileSync(image, 'one');
  const req = (over: Partial<ExplainRequest> = {}): ExplainRequest => ({
    modelDir: '/models/m', imagePath: image, methods: ['gradcam', 'lime'], counterfactual: 'gradient', methodOptions: { lime: { samples: 100 } }, ...over,
  });
  const result = (label: number) => ({ prediction: { label } }) as unknown as ExplainResultPayload;

  it('finds a result by image + model + settings, and not when any of them differs', () => {
    const c = new ResultCache();
    c.set(req(), result(1));
    assert.equal(c.get(req())?.prediction.label, 1);
    assert.equal(c.get(req({ methods: ['lime', 'gradcam'] }))?.prediction.label, 1, 'method order does not matter');
    assert.equal(c.get(req({ modelDir: '/models/other' })), undefined);
    assert.equal(c.get(req({ target: 3 })), undefined);
    assert.equal(c.get(req({ layer: 'conv' })), undefined);
    assert.equal(c.get(req({ counterfactual: 'none' })), undefined);
    assert.equal(c.get(req({ methodOptions: { lime: { samples: 200 } } })), undefined);
    assert.equal(c.get(req({ imagePath: join(tmp.dir, 'b.png') })), undefined);
  });

  it('dropModel forgets every result of that model (its settings changed) and keeps the others', () => {
    const c = new ResultCache();
    c.set(req(), result(1));
    c.set(req({ target: 2 }), result(2));
    c.set(req({ modelDir: '/models/other' }), result(3));
    c.dropModel('/models/m/');
    assert.equal(c.get(req()), undefined);
    assert.equal(c.get(req({ target: 2 })), undefined);
    assert.equal(c.get(req({ modelDir: '/models/other' }))?.prediction.label, 3);
    assert.equal(c.size, 1);
  });

  it('an edited image (new size or modification time) is a new key', () => {
    const before = resultKey(req());
    utimesSync(image, new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.notEqual(resultKey(req()), before);
    const c = new ResultCache();
    c.set(req(), result(1));
    writeFileSync(image, 'longer content');
    assert.equal(c.get(req()), undefined);
  });

  it('drops the least recently used entry beyond its capacity', () => {
    const c = new ResultCache(2);
    c.set(req({ target: 1 }), result(1));
    c.set(req({ target: 2 }), result(2));
    assert.ok(c.get(req({ target: 1 })), 'touch 1: 2 is now the oldest');
    c.set(req({ target: 3 }), result(3));
    assert.equal(c.size, 2);
    assert.equal(c.get(req({ target: 2 })), undefined);
    assert.equal(c.get(req({ target: 1 }))?.prediction.label, 1);
    assert.equal(c.get(req({ target: 3 }))?.prediction.label, 3);
  });
});
