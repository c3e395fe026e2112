import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePngRaw } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { XaiLensError } from '../../src/engine/errors';
import { decodeImage, detectFormat, encodePng, readImageFile, readImageHeader } from '../../src/engine/image/decode';
import type { RasterImage } from '../../src/engine/image/imageMath';

/** Rejection must be an XaiLensError whose one-line message starts with the file and matches `problem`. */
async function rejectsWith(p: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof XaiLensError, `expected XaiLensError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, problem);
    return true;
  });
}

function ramp(n: number, max: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round((i * 37) % (max + 1)));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

/** A PNG signature plus an IHDR chunk declaring width × height (CRC left zero; never decoded that far). */
function pngHeaderOnly(width: number, height: number): Uint8Array {
  const b = new Uint8Array(8 + 25 + 12);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(b.buffer);
  v.setUint32(8, 13);
  b.set([0x49, 0x48, 0x44, 0x52], 12);
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([8, 0, 0, 0, 0], 24);
  return b;
}

describe('image decoding', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xai-decode-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('round-trips 8-bit gray, RGB and RGBA PNGs through files', async () => {
    for (const channels of [1, 3, 4] as const) {
      const w = 7;
      const h = 5;
      const bytes = Uint8Array.from(ramp(w * h * channels, 255));
      const p = write(`rt${channels}.png`, encodePngRaw({ width: w, height: h, data: bytes, depth: 8, channels }));
      const im = await readImageFile(p);
      assert.equal(im.channels, channels);
      assert.equal(im.width, w);
      assert.equal(im.height, h);
      assertClose(im.data, Array.from(bytes, (v) => v / 255), 1e-7);
      // encodePng writes the same 8-bit samples back.
      assert.deepEqual(decodeImage(encodePng(im), 're.png').data, im.data);
    }
  });

  it('decodes 16-bit PNGs by dividing by 65535', async () => {
    const data = Uint16Array.from([0, 1, 32768, 65535, 1000, 65534]);
    const gray = await readImageFile(write('g16.png', encodePngRaw({ width: 3, height: 2, data, depth: 16, channels: 1 })));
    assert.equal(gray.channels, 1);
    assertClose(gray.data, Array.from(data, (v) => v / 65535), 1e-7);
    const rgb = decodeImage(encodePngRaw({ width: 2, height: 1, data, depth: 16, channels: 3 }), 'rgb16.png');
    assert.equal(rgb.channels, 3);
    assertClose(rgb.data, Array.from(data, (v) => v / 65535), 1e-7);
  });

  it('decodes gray+alpha to RGBA and low bit depths', () => {
    const ga = decodeImage(encodePngRaw({ width: 2, height: 1, data: Uint8Array.from([255, 0, 51, 255]), depth: 8, channels: 2 }), 'ga.png');
    assert.equal(ga.channels, 4);
    assertClose(ga.data, [1, 1, 1, 0, 0.2, 0.2, 0.2, 1], 1e-7);
    // 1-bit gray, width 10 → 2 bytes per row: 1011001110 / 0100000001.
    const bits = Uint8Array.from([0b10110011, 0b10000000, 0b01000000, 0b01000000]);
    const g1 = decodeImage(encodePngRaw({ width: 10, height: 2, data: bits, depth: 1, channels: 1 }), 'g1.png');
    assert.deepEqual(Array.from(g1.data), [1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    // 4-bit gray: 0x0, 0xf, 0x5 → 0, 1, 1/3.
    const g4 = decodeImage(encodePngRaw({ width: 3, height: 1, data: Uint8Array.from([0x0f, 0x50]), depth: 4, channels: 1 }), 'g4.png');
    assertClose(g4.data, [0, 1, 1 / 3], 1e-7);
  });

  it('decodes palette PNGs (with and without transparency)', () => {
    const palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    const idx = Uint8Array.from([0x01, 0x20]); // 4-bit indices 0, 1, 2
    const p = decodeImage(encodePngRaw({ width: 3, height: 1, data: idx, depth: 4, channels: 1, palette }), 'pal.png');
    assert.equal(p.channels, 3);
    assert.deepEqual(Array.from(p.data), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const alphaPalette = [[255, 0, 0, 0], [0, 255, 0, 255], [0, 0, 255, 255]];
    const t = decodeImage(encodePngRaw({ width: 3, height: 1, data: idx, depth: 4, channels: 1, palette: alphaPalette }), 'palt.png');
    assert.equal(t.channels, 4);
    assert.deepEqual(Array.from(t.data), [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1]);
  });

  it('round-trips a JPEG within tolerance', async () => {
    const w = 16;
    const h = 16;
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        rgba.set([x * 16, y * 16, 128, 255], i);
      }
    }
    const p = write('photo.jpg', jpeg.encode({ width: w, height: h, data: rgba }, 95).data);
    const im = await readImageFile(p);
    assert.equal(im.channels, 3);
    assert.equal(im.width, w);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(im.data[i * 3 + c] - rgba[i * 4 + c] / 255) < 0.06, `pixel ${i}`);
    }
    assert.equal(detectFormat(new Uint8Array(Buffer.from(encodePng(im)))), 'png');
  });

  it('keeps one channel for a grayscale JPEG', () => {
    // A 2×2 single-component baseline JPEG, every pixel 128 (IPython's core/tests/2x2.jpg, 331 bytes).
    const gray = Buffer.from(
      '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/' +
      'wAALCAACAAIBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEI' +
      'I0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip' +
      'qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q==',
      'base64',
    );
    const im = decodeImage(new Uint8Array(gray), 'gray.jpg');
    assert.equal(im.channels, 1);
    assert.deepEqual([im.width, im.height], [2, 2]);
    assertClose(im.data, [128, 128, 128, 128].map((v) => v / 255), 1e-7);
  });

  it('detects the format by magic bytes, not the extension', async () => {
    const png = encodePngRaw({ width: 1, height: 1, data: Uint8Array.from([200]), depth: 8, channels: 1 });
    const im = await readImageFile(write('looks-like.jpg', png));
    assert.equal(im.channels, 1);
    assert.deepEqual(readImageHeader(png, 'x'), { format: 'png', width: 1, height: 1 });
  });

  it('rejects a missing file, a folder and an empty file', async () => {
    const missing = join(dir, 'missing.png');
    await rejectsWith(readImageFile(missing), missing, /file not found$/);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await rejectsWith(readImageFile(sub), sub, /is a folder/);
    const empty = write('empty.png', new Uint8Array(0));
    await rejectsWith(readImageFile(empty), empty, /empty file$/);
  });

  it('rejects unknown formats, naming common ones', async () => {
    const txt = write('notes.png', new TextEncoder().encode('hello world'));
    await rejectsWith(readImageFile(txt), txt, /unknown image format \(first bytes 68 65 6c 6c\): expected PNG or JPEG/);
    const gif = write('anim.gif', new TextEncoder().encode('GIF89a......'));
    await rejectsWith(readImageFile(gif), gif, /GIF images are not supported/);
  });

  it('rejects corrupt PNG and JPEG data', async () => {
    const good = encodePngRaw({ width: 8, height: 8, data: Uint8Array.from(ramp(64, 255)), depth: 8, channels: 1 });
    const flipped = good.slice();
    for (let i = 41; i < flipped.length - 12; i++) flipped[i] ^= 0x5a; // scramble the IDAT payload
    const p1 = write('flipped.png', flipped);
    await rejectsWith(readImageFile(p1), p1, /^.*: corrupt PNG: /);
    const p2 = write('cut.png', good.slice(0, 40));
    await rejectsWith(readImageFile(p2), p2, /corrupt PNG: unexpected end of data/);
    const p3 = write('sig.png', good.slice(0, 8));
    await rejectsWith(readImageFile(p3), p3, /corrupt PNG: missing IHDR/);
    const j1 = write('garbage.jpg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    await rejectsWith(readImageFile(j1), j1, /corrupt JPEG/);
    const rgba = new Uint8Array(16 * 16 * 4).fill(200);
    const jpg = jpeg.encode({ width: 16, height: 16, data: rgba }, 90).data;
    const j2 = write('cut.jpg', Uint8Array.from(jpg.subarray(0, 200)));
    await rejectsWith(readImageFile(j2), j2, /corrupt JPEG/);
  });

  it('rejects huge declared dimensions before decoding pixels', async () => {
    const p = write('huge.png', pngHeaderOnly(100000, 100000));
    await rejectsWith(readImageFile(p), p, /image is 100000×100000 \(10000 megapixels\), over the 40 megapixels limit/);
    const zero = write('zero.png', pngHeaderOnly(0, 10));
    await rejectsWith(readImageFile(zero), zero, /declares an empty 0×10 image/);
    // A JPEG whose SOF0 declares 65535×65535.
    const sof = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0, 0xff, 0xd9]);
    const j = write('huge.jpg', sof);
    await rejectsWith(readImageFile(j), j, /65535×65535 \(4294\.8 megapixels\)/);
  });

  it('enforces the file-size and pixel limits given', async () => {
    const png = encodePngRaw({ width: 10, height: 10, data: new Uint8Array(100), depth: 8, channels: 1 });
    const p = write('small.png', png);
    await rejectsWith(readImageFile(p, { maxBytes: 20 }), p, /file is \d+ bytes, over the 20 bytes limit/);
    await rejectsWith(readImageFile(p, { maxPixels: 50 }), p, /10×10/);
    const ok: RasterImage = await readImageFile(p, { maxPixels: 100 });
    assert.equal(ok.data.length, 100);
  });
});
