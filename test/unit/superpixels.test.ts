import * as assert from 'node:assert/strict';
import { SeededRandom } from '../../src/engine/data/random';
import { XaiLensError } from '../../src/engine/errors';
import { enforceConnectivity, slic, type Segmentation } from '../../src/engine/explain/superpixels';
import type { RasterImage } from '../../src/engine/image/imageMath';

function randomImage(width: number, height: number, channels: 1 | 3, seed: number): RasterImage {
  const r = new SeededRandom(seed);
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = r.next();
  return { width, height, channels, data };
}

/** Smooth blobs plus noise: something like a photo, with regions for SLIC to find. */
function photoLike(size: number, seed: number): RasterImage {
  const r = new SeededRandom(seed);
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.4 * Math.sin((x * (c + 1)) / 17 + y / 23) * Math.cos(y / (11 + 3 * c));
        data[(y * size + x) * 3 + c] = Math.min(1, Math.max(0, v + 0.05 * r.gaussian()));
      }
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/** Asserts labels are 0..count-1, all used, and each label is a single 4-connected region (checked by flood fill). */
function assertValid(seg: Segmentation, w: number, h: number): void {
  const { labels, count } = seg;
  assert.equal(labels.length, w * h);
  const seen = new Uint8Array(count);
  for (const l of labels) {
    assert.ok(l >= 0 && l < count, `label ${l} outside 0..${count - 1}`);
    seen[l] = 1;
  }
  assert.ok(seen.every((s) => s === 1), 'labels are not contiguous');
  const visited = new Uint8Array(w * h);
  const regionsPerLabel = new Int32Array(count);
  for (let start = 0; start < w * h; start++) {
    if (visited[start]) continue;
    const l = labels[start];
    regionsPerLabel[l]++;
    const stack = [start];
    visited[start] = 1;
    while (stack.length) {
      const p = stack.pop() as number;
      const x = p % w;
      const y = Math.floor(p / w);
      const nbrs = [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1];
      for (const q of nbrs) {
        if (q >= 0 && !visited[q] && labels[q] === l) {
          visited[q] = 1;
          stack.push(q);
        }
      }
    }
  }
  regionsPerLabel.forEach((n, l) => assert.equal(n, 1, `label ${l} has ${n} disconnected regions`));
}

/** Raster-order relabelling numbers the quadrants top-left 0, top-right 1, bottom-left 2, bottom-right 3. */
function assertQuadrants(seg: Segmentation, w: number): void {
  const half = w / 2;
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      assert.equal(seg.labels[y * w + x], (y < half ? 0 : 2) + (x < half ? 0 : 1), `(${x}, ${y})`);
    }
  }
}

describe('superpixels (SLIC)', () => {
  it('finds exactly the four quadrants of a 16×16 image', () => {
    const w = 16;
    const values = [0.1, 0.4, 0.7, 1];
    const data = new Float32Array(w * w);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) data[y * w + x] = values[(y < 8 ? 0 : 2) + (x < 8 ? 0 : 1)];
    const seg = slic({ width: w, height: w, channels: 1, data }, { segments: 4 });
    assert.equal(seg.count, 4);
    assertQuadrants(seg, w);
  });

  it('finds colour quadrants too (CIELAB path)', () => {
    const w = 16;
    const colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]];
    const data = new Float32Array(w * w * 3);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) data.set(colours[(y < 8 ? 0 : 2) + (x < 8 ? 0 : 1)], (y * w + x) * 3);
    }
    const seg = slic({ width: w, height: w, channels: 3, data }, { segments: 4 });
    assert.equal(seg.count, 4);
    assertQuadrants(seg, w);
  });

  it('gives contiguous, connected labels near the target count on noise (gray and colour)', () => {
    for (const [w, h, c] of [[28, 28, 1], [40, 30, 3]] as const) {
      const seg = slic(randomImage(w, h, c, 3), { segments: 50 });
      assertValid(seg, w, h);
      assert.ok(seg.count >= 20 && seg.count <= 80, `count ${seg.count}`);
    }
  });

  it('segments a photo-like 224×224 image into valid, reasonably sized superpixels', () => {
    const im = photoLike(224, 5);
    const seg = slic(im, { segments: 100 });
    assertValid(seg, 224, 224);
    assert.ok(seg.count >= 60 && seg.count <= 150, `count ${seg.count}`);
  });

  it('is deterministic', () => {
    const im = randomImage(28, 28, 1, 9);
    const a = slic(im);
    const b = slic({ ...im, data: im.data.slice() });
    assert.equal(a.count, b.count);
    assert.deepEqual(a.labels, b.labels);
  });

  it('handles degenerate sizes and options', () => {
    const one = slic({ width: 1, height: 1, channels: 1, data: new Float32Array([0.5]) });
    assert.deepEqual(one, { labels: new Int32Array([0]), count: 1 });
    const flat = slic({ width: 5, height: 3, channels: 1, data: new Float32Array(15).fill(0.2) }, { segments: 1 });
    assert.equal(flat.count, 1);
    assert.throws(() => slic({ width: 2, height: 2, channels: 1, data: new Float32Array(3) }), /expected 4 samples/);
    const im = randomImage(4, 4, 1, 1);
    const echoes = (e: unknown) => e instanceof XaiLensError && /got 0/.test(e.message);
    assert.throws(() => slic(im, { segments: 0 }), echoes);
    assert.throws(() => slic(im, { iterations: 2.5 }), /2\.5/);
    assert.throws(() => slic(im, { compactness: -1 }), /-1/);
  });

  it('enforceConnectivity splits a disconnected label and merges specks', () => {
    // Label 0 in two separate columns; label 1 between them; a lone pixel of label 2 inside label 1.
    const w = 5;
    const labels = Int32Array.from([0, 1, 1, 1, 0, 0, 1, 2, 1, 0, 0, 1, 1, 1, 0]);
    const seg = enforceConnectivity(labels, w, 3, 2);
    assert.equal(seg.count, 3);
    assert.deepEqual(Array.from(seg.labels), [0, 1, 1, 1, 2, 0, 1, 1, 1, 2, 0, 1, 1, 1, 2]);
  });
});
