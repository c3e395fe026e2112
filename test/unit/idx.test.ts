import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { XaiLensError } from '../../src/engine/errors';
import { isGzip, parseIdx, readIdxFile } from '../../src/engine/data/idx';

/** Header bytes: 0, 0, type, ndims, then big-endian u32 dims. */
function header(type: number, dims: number[]): number[] {
  const out = [0, 0, type, dims.length];
  for (const d of dims) out.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return out;
}

function idx(type: number, dims: number[], payload: number[]): Uint8Array {
  return Uint8Array.from([...header(type, dims), ...payload]);
}

function assertIdxError(fn: () => unknown, file: string, ...fragments: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XaiLensError, `expected XaiLensError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    for (const f of fragments) assert.match(e.message, f);
    return true;
  });
}

describe('IDX reader', () => {
  it('parses a known uint8 3-D array', () => {
    const a = parseIdx(idx(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]), 'k.idx');
    assert.equal(a.dtype, 'uint8');
    assert.deepEqual(a.dims, [2, 2, 3]);
    assert.ok(a.data instanceof Uint8Array);
    assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('parses big-endian int8, int16, int32, float32 and float64', () => {
    assert.deepEqual(Array.from(parseIdx(idx(0x09, [3], [0x80, 0xff, 0x7f]), 'f').data), [-128, -1, 127]);
    assert.deepEqual(Array.from(parseIdx(idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]), 'f').data), [0x0102, -2]);
    assert.deepEqual(Array.from(parseIdx(idx(0x0c, [1], [0xff, 0xff, 0xff, 0xf6]), 'f').data), [-10]);
    const f32 = parseIdx(idx(0x0d, [1, 1], [0x3f, 0xc0, 0x00, 0x00]), 'f'); // 1.5
    assert.equal(f32.dtype, 'float32');
    assert.deepEqual(Array.from(f32.data), [1.5]);
    const f64 = parseIdx(idx(0x0e, [1], [0xc0, 0x04, 0, 0, 0, 0, 0, 0]), 'f'); // -2.5
    assert.equal(f64.dtype, 'float64');
    assert.deepEqual(Array.from(f64.data), [-2.5]);
  });

  it('accepts an empty array when a dimension is 0', () => {
    const a = parseIdx(idx(0x08, [0, 28, 28], []), 'f');
    assert.deepEqual(a.dims, [0, 28, 28]);
    assert.equal(a.data.length, 0);
  });

  it('rejects a bad magic (non-zero first bytes) naming the file and the magic', () => {
    assertIdxError(() => parseIdx(Uint8Array.from([0x1f, 0x00, 0x08, 0x01, 0, 0, 0, 0]), 'x.idx'), 'x.idx',
      /bad IDX header/, /magic 0x1f000801/);
  });

  it('rejects an unknown type code', () => {
    assertIdxError(() => parseIdx(idx(0x07, [1], [0]), 'x.idx'), 'x.idx', /unknown type code 0x07/, /0x00000701/);
  });

  it('rejects zero dimensions and a header shorter than its dimension count', () => {
    assertIdxError(() => parseIdx(Uint8Array.from([0, 0, 8, 0]), 'x.idx'), 'x.idx', /0 dimensions/);
    assertIdxError(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1]), 'x.idx'), 'x.idx', /16-byte header/, /8 bytes/);
    assertIdxError(() => parseIdx(Uint8Array.from([0, 0]), 'x.idx'), 'x.idx', /too short/);
  });

  it('rejects truncated and too-long data with expected and actual sizes', () => {
    assertIdxError(() => parseIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5]), 't.idx'), 't.idx',
      /truncated/, /2×3 uint8/, /\(18 bytes\)/, /has 17 bytes/);
    assertIdxError(() => parseIdx(idx(0x0c, [1], [0, 0, 0, 1, 9]), 'l.idx'), 'l.idx',
      /too long/, /\(12 bytes\)/, /has 13 bytes/);
  });

  describe('files', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'xai-idx-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reads raw and gzipped files to the same array', async () => {
      const bytes = idx(0x0b, [2, 2], [0, 1, 0, 2, 0x80, 0, 0x7f, 0xff]);
      const gz = gzipSync(bytes);
      assert.ok(isGzip(gz) && !isGzip(bytes));
      writeFileSync(join(dir, 'a.idx'), bytes);
      writeFileSync(join(dir, 'a.idx.gz'), gz);
      // Detection is by content: a gzip file without the .gz name still works.
      writeFileSync(join(dir, 'b.idx'), gz);
      const raw = await readIdxFile(join(dir, 'a.idx'));
      assert.deepEqual(Array.from(raw.data), [1, 2, -32768, 32767]);
      assert.deepEqual(await readIdxFile(join(dir, 'a.idx.gz')), raw);
      assert.deepEqual(await readIdxFile(join(dir, 'b.idx')), raw);
    });

    it('names the file for missing, corrupt gzip and bad content', async () => {
      const missing = join(dir, 'none.idx');
      await assert.rejects(readIdxFile(missing), (e: Error) => e instanceof XaiLensError && e.message === `${missing}: file not found`);
      const badGz = join(dir, 'bad.gz');
      writeFileSync(badGz, Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
      await assert.rejects(readIdxFile(badGz), (e: Error) => e instanceof XaiLensError && /bad\.gz: corrupt gzip data/.test(e.message));
      const trunc = join(dir, 'trunc.idx.gz');
      writeFileSync(trunc, gzipSync(idx(0x08, [10], [1, 2])));
      await assert.rejects(readIdxFile(trunc), (e: Error) => e instanceof XaiLensError && e.message.startsWith(`${trunc}: truncated`));
    });
  });
});
