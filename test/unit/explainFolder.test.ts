/**
 * The folder gallery's engine side and `xai-lens explain-folder --json`: every image under a folder (recursively,
 * in path order), one JSON line per image with its prediction, an unreadable image as one error line naming it, the
 * engine process streaming items and stopping on cancel, and the gallery's CSV/JSON export.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/engine/cli';
import type { Io } from '../../src/engine/cli/common';
import { listImages } from '../../src/engine/explain/folder';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import { EngineClient, EngineError } from '../../src/extension/engineClient';
import { galleryCsv, galleryRecords, type GalleryItem } from '../../src/shared/gallery';
import { tempDir } from './helpers';

const samples = join(packageRoot(), 'media', 'samples');

describe('explain-folder', function () {
  this.timeout(180_000);
  const tmp = tempDir();
  const dir = join(tmp.dir, 'digits');
  before(() => {
    mkdirSync(join(dir, 'more'), { recursive: true });
    mkdirSync(join(dir, '.hidden'), { recursive: true });
    for (const d of [3, 7, 1]) copyFileSync(join(samples, `digit-${d}.png`), join(dir, `digit-${d}.png`));
    copyFileSync(join(samples, 'digit-2.png'), join(dir, 'more', 'digit-2.png'));
    copyFileSync(join(samples, 'digit-5.png'), join(dir, '.hidden', 'digit-5.png'));
    writeFileSync(join(dir, 'broken.png'), 'not a png');
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
  });
  after(() => tmp.cleanup());

  it('lists PNG/JPEG files recursively in path order, skipping dot-folders', async () => {
    const files = await listImages(dir);
    assert.deepEqual(files, ['broken.png', 'digit-1.png', 'digit-3.png', 'digit-7.png', 'more/digit-2.png'].map((f) => join(dir, f)));
    assert.deepEqual(await listImages(dir, 2), files.slice(0, 2));
    await assert.rejects(listImages(join(dir, 'nope')), /nope: /);
  });

  it('--json prints one line per image in path order, the unreadable one as an error naming it, exit code 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
    const code = await main(['explain-folder', dir, '--json'], io);
    assert.equal(code, 1);
    const lines = out.map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.equal(lines[0].file, join(dir, 'broken.png'));
    assert.match(lines[0].error, /broken\.png: /);
    const ok = lines.slice(1);
    assert.deepEqual(ok.map((l) => l.file), ['digit-1.png', 'digit-3.png', 'digit-7.png', 'more/digit-2.png'].map((f) => join(dir, f)));
    assert.deepEqual(ok.map((l) => l.label), [1, 3, 7, 2]);
    for (const l of ok) {
      assert.deepEqual(Object.keys(l), ['file', 'label', 'class_name', 'confidence', 'top', 'ms']);
      assert.equal(l.class_name, String(l.label));
      assert.ok(l.confidence > 0.5 && l.confidence <= 1);
      assert.equal(l.top.length, 3);
      assert.equal(l.top[0].label, l.label);
      assert.equal(l.top[0].probability, l.confidence);
    }
    assert.match(err.at(-1)!, /^4 of 5 images explained, 1 unreadable in \d+\.\d s$/);
  });

  it('a missing folder is one line naming it, exit code 2', async () => {
    const err: string[] = [];
    const code = await main(['explain-folder', join(tmp.dir, 'missing')], { out: () => undefined, err: (l) => err.push(l), isTty: false });
    assert.equal(code, 2);
    assert.equal(err.length, 1);
    assert.match(err[0], /^xai-lens: .*missing: /);
  });

  it('exports CSV (quoted where needed) and JSON records with the CLI names', () => {
    const top = [{ label: 3, probability: 0.9 }, { label: 8, probability: 0.06 }, { label: 5, probability: 0.01 }];
    const items: GalleryItem[] = [
      { file: '/f/a,b.png', relative: 'a,b.png', label: 3, className: 'three "3"', confidence: 0.9, top, thumbnail: { width: 1, height: 1, channels: 1, data: [0] }, gradcam: { width: 1, height: 1, data: [0] }, ms: 12.4 },
      { file: '/f/x.png', relative: 'x.png', error: '/f/x.png: not a PNG or JPEG file' },
    ];
    assert.equal(
      galleryCsv(items),
      'file,label,class_name,confidence,top2_label,top2_probability,top3_label,top3_probability,error\n'
        + '"a,b.png",3,"three ""3""",0.9,8,0.06,5,0.01,\n'
        + 'x.png,,,,,,,,/f/x.png: not a PNG or JPEG file\n',
    );
    assert.deepEqual(galleryRecords(items), [
      { file: 'a,b.png', label: 3, class_name: 'three "3"', confidence: 0.9, top, ms: 12 },
      { file: 'x.png', error: '/f/x.png: not a PNG or JPEG file' },
    ]);
  });

  describe('through the engine process', () => {
    const script = join(packageRoot(), 'dist', 'engine-process.js');
    let client: EngineClient;
    const big = join(tmp.dir, 'fifty');
    before(() => {
      assert.ok(existsSync(script), `${script} is missing: run "npm run build" first`);
      client = new EngineClient({ script, backend: () => 'auto' });
      mkdirSync(big, { recursive: true });
      for (let i = 0; i < 50; i++) copyFileSync(join(samples, `digit-${i % 10}.png`), join(big, `img-${String(i).padStart(2, '0')}.png`));
    });
    after(() => client.stop());

    it('streams each image as it finishes, with a thumbnail and a Grad-CAM map', async () => {
      const items: GalleryItem[] = [];
      let itemsBeforeEnd = -1;
      const r = await client.request('engine/explainFolder', { modelDir: defaultModelDir(), dir, thumbnail: 14 }, {
        onItem: (it) => items.push(it),
        onProgress: (p) => {
          if (p.done === 2) itemsBeforeEnd = items.length;
        },
      });
      assert.equal(itemsBeforeEnd, 2, 'items arrive one by one, before the request ends');
      assert.deepEqual([r.total, r.explained, r.failed], [5, 4, 1]);
      const ok = items.filter((i) => !('error' in i));
      assert.deepEqual(ok.map((i) => ('label' in i ? i.label : -1)), [1, 3, 7, 2]);
      for (const i of ok) {
        if ('error' in i) continue;
        assert.deepEqual([i.thumbnail.width, i.thumbnail.height, i.thumbnail.data.length], [14, 14, 196]);
        assert.deepEqual([i.gradcam.width, i.gradcam.height, i.gradcam.data.length], [14, 14, 196]);
        assert.ok(Math.max(...i.gradcam.data) > 0);
      }
    });

    it('a folder of 50 images stops when cancelled, and the engine answers the next request', async () => {
      const listeners: (() => void)[] = [];
      const token = { isCancellationRequested: false, onCancellationRequested: (l: () => void) => (listeners.push(l), { dispose() {} }) };
      const items: GalleryItem[] = [];
      await assert.rejects(
        client.request('engine/explainFolder', { modelDir: defaultModelDir(), dir: big }, {
          token,
          onItem: (it) => {
            items.push(it);
            if (items.length === 5) {
              token.isCancellationRequested = true;
              listeners.forEach((l) => l());
            }
          },
        }),
        (e: unknown) => e instanceof EngineError && e.cancelled,
      );
      assert.ok(items.length >= 5 && items.length <= 7, `${items.length} of 50 images after cancelling at 5`);
      const r = await client.request('engine/explainFolder', { modelDir: defaultModelDir(), dir: big, limit: 3 });
      assert.deepEqual([r.total, r.explained], [3, 3]);
    });
  });
});
