import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as encodePngRaw } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { XaiLensError } from '../../src/engine/errors';
import {
  FASHION_MNIST_CLASS_NAMES, type ImageDataset, convertDataset, loadDataset, loadFashionMnist, loadImageFolder,
  labelsByModelClasses, loadMnist, splitTrainVal, subset,
} from '../../src/engine/data/datasets';

function idxBytes(type: number, dims: number[], payload: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, type, dims.length]);
  const v = new DataView(head.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

async function rejectsWith(p: Promise<unknown>, problem: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof XaiLensError, `expected XaiLensError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, problem);
    return true;
  });
}

/** A tiny synthetic dataset: image i is filled with i/100, label i % 3. */
function toy(n: number): ImageDataset {
  const images = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images.fill(i / 100, i * 4, i * 4 + 4);
    labels[i] = i % 3;
  }
  return { name: 'toy', images, labels, shape: [2, 2, 1], numClasses: 3, classNames: ['a', 'b', 'c'], source: 'mem', hash: 'h', count: n };
}

describe('datasets', () => {
  it('labelsByModelClasses: folder labels become the model\'s class indices by name; numbered models and same order unchanged', () => {
    const ds = (classNames: string[], labels: number[]): ImageDataset => ({
      name: 'pets', images: new Float32Array(labels.length), labels: Int32Array.from(labels), shape: [1, 1, 1], numClasses: classNames.length,
      classNames, source: '/data/pets', hash: 'h', count: labels.length,
    });
    const pets = ds(['cat', 'dog'], [0, 1, 1, 0]);
    const byName = labelsByModelClasses(pets, ['dog', 'bird', 'cat']);
    assert.deepEqual([...byName.labels], [2, 0, 0, 2]);
    assert.deepEqual([byName.numClasses, byName.classNames], [3, ['dog', 'bird', 'cat']]);
    assert.equal(labelsByModelClasses(pets, ['cat', 'dog']), pets, 'same order: unchanged');
    assert.equal(labelsByModelClasses(pets, ['0', '1']), pets, 'a model with numbered classes: folder order');
    assert.throws(() => labelsByModelClasses(ds(['cat', 'fish'], [0, 1]), ['dog', 'cat']), (e: Error) =>
      e.message === '/data/pets: class "fish" is not one of the model\'s classes (dog, cat)');
  });

  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xai-data-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('MNIST', () => {
    it('loads the test split with the known label counts', async () => {
      const t0 = performance.now();
      const test = await loadMnist('test');
      if (process.env.XAI_BENCH) console.log(`      MNIST test load: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.equal(test.count, 10000);
      assert.deepEqual(test.shape, [28, 28, 1]);
      assert.equal(test.images.length, 10000 * 784);
      assert.equal(test.numClasses, 10);
      const counts = new Array(10).fill(0);
      for (const l of test.labels) counts[l]++;
      assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
      assert.match(test.hash, /^[0-9a-f]{64}$/);
      assert.equal((await loadMnist('test')).hash, test.hash, 'hash is stable');
      let min = 1;
      let max = 0;
      for (const v of test.images) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 1);
    });

    it('loads the train split: 60000 images, first label 5', async () => {
      const t0 = performance.now();
      const train = await loadMnist('train');
      if (process.env.XAI_BENCH) console.log(`      MNIST train load: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.equal(train.count, 60000);
      assert.equal(train.labels.length, 60000);
      assert.equal(train.labels[0], 5);
      assert.equal(train.name, 'mnist-train');
      // via the spec, converted to a 14×14×3 model input
      const small = convertDataset(subset(train, [0, 1]), [14, 14, 3]);
      assert.deepEqual(small.shape, [14, 14, 3]);
      assert.equal(small.images.length, 2 * 14 * 14 * 3);
    });

    it('loadDataset("mnist") with a shape converts the images', async () => {
      const ds = await loadDataset('mnist', 'test', [14, 14, 1]);
      assert.deepEqual(ds.shape, [14, 14, 1]);
      assert.equal(ds.images.length, 10000 * 196);
    });
  });

  describe('Fashion-MNIST', () => {
    it('loads gzipped IDX files from a folder (Debian layout)', async () => {
      const fm = join(dir, 'fashion');
      mkdirSync(fm);
      const px = new Uint8Array(3 * 4 * 4).map((_, i) => i * 5);
      writeFileSync(join(fm, 't10k-images-idx3-ubyte.gz'), gzipSync(idxBytes(8, [3, 4, 4], px)));
      writeFileSync(join(fm, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes(8, [3], Uint8Array.from([9, 0, 3]))));
      const ds = await loadDataset(`fashion-mnist:${fm}`, 'test');
      assert.equal(ds.count, 3);
      assert.deepEqual(ds.shape, [4, 4, 1]);
      assert.deepEqual(Array.from(ds.labels), [9, 0, 3]);
      assert.deepEqual(ds.classNames, FASHION_MNIST_CLASS_NAMES);
      assert.equal(ds.classNames[9], 'Ankle boot');
      assert.equal(ds.images[1], Math.fround(5 / 255));
      await rejectsWith(loadFashionMnist('train', fm), /no train-images-idx3-ubyte\.gz/);
    });

    it('explains how to install it when the folder is missing', async () => {
      const missing = join(dir, 'nope');
      await rejectsWith(loadFashionMnist('train', missing), new RegExp(`^${missing}: .*apt-get install dataset-fashion-mnist`));
    });

    it('rejects a label file in place of an image file with the magic in the message', async () => {
      const fm = join(dir, 'swapped');
      mkdirSync(fm);
      const labels = gzipSync(idxBytes(8, [2], Uint8Array.from([1, 2])));
      writeFileSync(join(fm, 't10k-images-idx3-ubyte.gz'), labels);
      writeFileSync(join(fm, 't10k-labels-idx1-ubyte.gz'), labels);
      await rejectsWith(loadFashionMnist('test', fm), /t10k-images-idx3-ubyte\.gz: bad IDX header: magic 0x00000801, expected 0x00000803/);
    });
  });

  describe('image folders', () => {
    let root: string;
    before(() => {
      root = join(dir, 'shapes');
      for (const s of ['train', 'test']) for (const c of ['circle', 'square']) mkdirSync(join(root, s, c), { recursive: true });
      // Mixed formats, sizes and depths; "square" images are bright, "circle" ones dark.
      const put = (p: string, bytes: Uint8Array) => writeFileSync(join(root, p), bytes);
      put('train/square/a.png', encodePngRaw({ width: 40, height: 30, data: new Uint8Array(1200).fill(255), depth: 8, channels: 1 }));
      put('train/square/b.jpg', jpeg.encode({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).fill(255) }, 90).data);
      put('train/square/c.PNG', encodePngRaw({ width: 8, height: 8, data: new Uint16Array(64 * 3).fill(65535), depth: 16, channels: 3 }));
      put('train/circle/a.png', encodePngRaw({ width: 28, height: 28, data: new Uint8Array(28 * 28 * 4).fill(0), depth: 8, channels: 4 }));
      put('train/circle/b.jpeg', jpeg.encode({ width: 10, height: 20, data: new Uint8Array(800).fill(0).map((_, i) => (i % 4 === 3 ? 255 : 0)) }, 90).data);
      put('train/circle/notes.txt', new TextEncoder().encode('ignored: not an image extension'));
      put('test/square/x.png', encodePngRaw({ width: 5, height: 5, data: new Uint8Array(25).fill(255), depth: 8, channels: 1 }));
    });

    it('loads one class per sorted subfolder, converting every image to the shape', async () => {
      const ds = await loadDataset(root, 'train', [16, 16, 1]);
      assert.deepEqual(ds.classNames, ['circle', 'square']);
      assert.equal(ds.count, 5);
      assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1, 1]);
      assert.deepEqual(ds.shape, [16, 16, 1]);
      assert.equal(ds.images.length, 5 * 256);
      for (let i = 0; i < 5; i++) {
        const mean = ds.images.subarray(i * 256, (i + 1) * 256).reduce((s, v) => s + v, 0) / 256;
        assert.ok(ds.labels[i] === 1 ? mean > 0.95 : mean < 0.05, `image ${i} mean ${mean}`);
      }
      assert.match(ds.hash, /^[0-9a-f]{64}$/);
      assert.equal((await loadDataset(root, 'train', [16, 16, 1])).hash, ds.hash);
    });

    it('labels the test split with the train classes', async () => {
      const test = await loadDataset(root, 'test', [16, 16, 3]);
      assert.deepEqual(test.classNames, ['circle', 'square']);
      assert.deepEqual(Array.from(test.labels), [1]);
      assert.equal(test.numClasses, 2);
    });

    it('fails listing the bad files, or skips them with a warning callback', async () => {
      const bad = join(dir, 'bad');
      mkdirSync(join(bad, 'one'), { recursive: true });
      mkdirSync(join(bad, 'two'), { recursive: true });
      writeFileSync(join(bad, 'one', 'ok.png'), encodePngRaw({ width: 2, height: 2, data: new Uint8Array(4), depth: 8, channels: 1 }));
      writeFileSync(join(bad, 'two', 'empty.png'), new Uint8Array(0));
      writeFileSync(join(bad, 'two', 'junk.jpg'), new TextEncoder().encode('not a jpeg'));
      writeFileSync(join(bad, 'two', 'ok.png'), encodePngRaw({ width: 2, height: 2, data: new Uint8Array(4), depth: 8, channels: 1 }));
      await rejectsWith(loadImageFolder(bad, [4, 4, 1]),
        new RegExp(`^${bad}: 2 of 4 images could not be loaded: .*empty\\.png: empty file; .*junk\\.jpg: unknown image format`));
      const warnings: string[] = [];
      const ds = await loadImageFolder(bad, [4, 4, 1], { onWarning: (m) => warnings.push(m) });
      assert.equal(ds.count, 2);
      assert.deepEqual(Array.from(ds.labels), [0, 1]);
      assert.equal(warnings.length, 2);
      assert.match(warnings[0], /^skipped .*empty\.png: empty file$/);
    });

    it('rejects folders without classes or images, and unknown specs', async () => {
      const flat = join(dir, 'flat');
      mkdirSync(flat);
      await rejectsWith(loadImageFolder(flat, [28, 28, 1]), /flat: no class subfolders/);
      mkdirSync(join(flat, 'empty-class'));
      await rejectsWith(loadImageFolder(flat, [28, 28, 1]), /class folder 'empty-class' has no \.png\/\.jpg\/\.jpeg images/);
      await rejectsWith(loadDataset(flat, 'test'), /no test\/ subfolder/);
      await rejectsWith(loadDataset('cifar-1000', 'train'), /^cifar-1000: unknown dataset .*'mnist', 'fashion-mnist'/);
    });
  });

  describe('split and subset', () => {
    it('splitTrainVal is deterministic, disjoint and complete', () => {
      const ds = toy(100);
      const a = splitTrainVal(ds, 0.2, 7);
      const b = splitTrainVal(ds, 0.2, 7);
      assert.equal(a.val.count, 20);
      assert.equal(a.train.count, 80);
      assert.deepEqual(a.val.images, b.val.images);
      assert.deepEqual(a.train.labels, b.train.labels);
      assert.equal(a.val.hash, b.val.hash);
      assert.notEqual(a.val.hash, a.train.hash);
      // Each toy image encodes its own index: recover and compare.
      const ids = (d: ImageDataset) => Array.from({ length: d.count }, (_, i) => Math.round(d.images[i * 4] * 100));
      const all = [...ids(a.train), ...ids(a.val)].sort((x, y) => x - y);
      assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
      for (const d of [a.train, a.val]) {
        ids(d).forEach((id, i) => assert.equal(d.labels[i], id % 3));
      }
      assert.notDeepEqual(ids(splitTrainVal(ds, 0.2, 8).val), ids(a.val));
      assert.equal(splitTrainVal(toy(3), 0.01, 1).val.count, 1); // at least one when asked for some
      assert.throws(() => splitTrainVal(ds, 1, 1), RangeError);
    });

    it('subset copies the chosen examples in order', () => {
      const s = subset(toy(10), [9, 2, 2]);
      assert.equal(s.count, 3);
      assert.deepEqual(Array.from(s.labels), [0, 2, 2]);
      assert.equal(s.images[0], Math.fround(0.09));
      assert.throws(() => subset(toy(10), [10]), RangeError);
    });
  });
});
