/**
 * IDX files (the MNIST container): 2 zero bytes, a type code, a dimension count, big-endian u32 dimensions, then
 * big-endian samples. Parsed strictly: the byte length must match the header exactly, so a truncated download or a
 * wrong file is reported instead of silently training on garbage.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { XaiLensError } from '../errors';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Parses IDX bytes; every header problem is an XaiLensError naming `file`. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new XaiLensError(`bad IDX header: file has ${bytes.length} bytes, too short for a header`, file);
  const magic = u32be(bytes, 0);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new XaiLensError(`bad IDX header: magic ${hex(magic, 8)} does not start with two zero bytes (not an IDX file?)`, file);
  }
  const type = TYPES[bytes[2]];
  if (!type) {
    throw new XaiLensError(
      `bad IDX header: unknown type code ${hex(bytes[2], 2)} in magic ${hex(magic, 8)} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)`,
      file,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new XaiLensError(`bad IDX header: magic ${hex(magic, 8)} declares 0 dimensions`, file);
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new XaiLensError(`bad IDX header: ${ndims} dimensions need a ${headerLen}-byte header, file has ${bytes.length} bytes`, file);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(u32be(bytes, 4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count * type.size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'too long';
    throw new XaiLensError(
      `${what} IDX file: header declares ${dims.join('×')} ${type.dtype} (${expected} bytes), file has ${bytes.length} bytes`,
      file,
    );
  }
  return { dtype: type.dtype, dims, data: readSamples(bytes, headerLen, count, type.dtype) };
}

/** Copies the samples out (into an aligned, owned array), converting big-endian multi-byte values. */
function readSamples(bytes: Uint8Array, offset: number, count: number, dtype: IdxDtype): IdxData {
  if (dtype === 'uint8') return bytes.slice(offset, offset + count);
  if (dtype === 'int8') return new Int8Array(bytes.slice(offset, offset + count).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset);
  switch (dtype) {
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8);
      return out;
    }
  }
}

/** gzip streams start with 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads an IDX file as raw bytes, gunzipping when the content (not the name) is gzip. */
export async function readIdxBytes(path: string): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new XaiLensError(code === 'ENOENT' ? 'file not found' : `cannot read file: ${(e as Error).message}`, path);
  }
  let bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (isGzip(bytes)) {
    try {
      const raw = gunzipSync(bytes);
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (e) {
      throw new XaiLensError(`corrupt gzip data: ${(e as Error).message}`, path);
    }
  }
  return bytes;
}

/** Reads and parses a raw or gzipped IDX file. */
export async function readIdxFile(path: string): Promise<IdxArray> {
  return parseIdx(await readIdxBytes(path), path);
}
