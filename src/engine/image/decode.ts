/**
 * PNG and JPEG decoding to `RasterImage` (0..1 floats), with the limits checked before any pixel is decoded so a
 * hostile or accidental 100000×100000 header costs nothing. The format comes from the magic bytes, never the name.
 */
import { stat, readFile } from 'node:fs/promises';
import { decode as decodePngBytes, encode as encodePngBytes, type DecodedPng } from 'fast-png';
import * as jpeg from 'jpeg-js';
import { XaiLensError } from '../errors';
import { type Channels, type RasterImage, toBytes } from './imageMath';

export type ImageFormat = 'png' | 'jpeg';

export interface DecodeLimits {
  /** Largest file readImageFile accepts, in bytes. */
  maxBytes?: number;
  /** Largest width × height accepted, checked from the header before decoding. */
  maxPixels?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PIXELS = 40_000_000;
/** jpeg-js refuses to allocate more than this while decoding (40 MP of RGB plus its per-component buffers fit). */
const JPEG_MAX_MEMORY_MB = 512;

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

export function detectFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  return undefined;
}

/** Names formats people commonly try, so the error says what the file is instead of only what it isn't. */
function describeUnknown(bytes: Uint8Array): string {
  const ascii = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0));
  if (startsWith(bytes, ascii('GIF8'))) return 'GIF images are not supported; convert it to PNG';
  if (startsWith(bytes, ascii('BM'))) return 'BMP images are not supported; convert it to PNG';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) {
    return 'WebP images are not supported; convert it to PNG';
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return 'TIFF images are not supported; convert it to PNG';
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unknown image format (first bytes ${head}): expected PNG or JPEG`;
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

interface PngHeader extends ImageHeader {
  depth: number;
  colorType: number;
  interlace: number;
}

function readPngHeader(bytes: Uint8Array, file: string): PngHeader {
  // Signature (8), IHDR length (4), "IHDR" (4), 13 bytes of fields: the first chunk must be IHDR.
  if (bytes.length < 33 || !startsWith(bytes, [0x49, 0x48, 0x44, 0x52], 12)) {
    throw new XaiLensError('corrupt PNG: missing IHDR header', file);
  }
  return {
    format: 'png',
    width: u32be(bytes, 16),
    height: u32be(bytes, 20),
    depth: bytes[24],
    colorType: bytes[25],
    interlace: bytes[28],
  };
}

/** SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames. */
function isSofMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

function readJpegHeader(bytes: Uint8Array, file: string): ImageHeader & { components: number } {
  let i = 2;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff) throw new XaiLensError(`corrupt JPEG: expected a marker at byte ${i}`, file);
    while (bytes[i] === 0xff && i + 1 < bytes.length) i++; // fill bytes
    const marker = bytes[i];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i++; // markers without a length field
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image or start of scan before any frame header
    if (i + 2 >= bytes.length) break;
    const length = u16be(bytes, i + 1);
    if (isSofMarker(marker)) {
      if (i + 9 > bytes.length || length < 8) break;
      return { format: 'jpeg', height: u16be(bytes, i + 4), width: u16be(bytes, i + 6), components: bytes[i + 8] };
    }
    if (length < 2) throw new XaiLensError(`corrupt JPEG: bad segment length at byte ${i + 1}`, file);
    i += 1 + length;
  }
  throw new XaiLensError('corrupt JPEG: no frame header (SOF) found', file);
}

/**
 * The EXIF orientation (1…8) of a JPEG, from the APP1 "Exif" segment's IFD0 tag 0x0112; 1 when absent or unreadable
 * (a broken EXIF block must not make an otherwise good photo unreadable).
 */
export function jpegOrientation(bytes: Uint8Array): number {
  let i = 2;
  while (i + 3 < bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    if (marker === 0xda || marker === 0xd9) break;
    const length = u16be(bytes, i + 2);
    if (marker === 0xe1 && length >= 16 && bytes[i + 4] === 0x45 && bytes[i + 5] === 0x78 && bytes[i + 6] === 0x69 && bytes[i + 7] === 0x66) {
      const tiff = i + 10;
      if (tiff + 8 > bytes.length) return 1;
      const little = bytes[tiff] === 0x49;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const u16 = (o: number) => (o + 2 <= bytes.length ? view.getUint16(o, little) : 0);
      const u32 = (o: number) => (o + 4 <= bytes.length ? view.getUint32(o, little) : 0);
      const ifd = tiff + u32(tiff + 4);
      const count = u16(ifd);
      for (let e = 0; e < count; e++) {
        const entry = ifd + 2 + e * 12;
        if (entry + 12 > bytes.length) return 1;
        if (u16(entry) === 0x0112) {
          const v = u16(entry + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    if (length < 2) break;
    i += 2 + length;
  }
  return 1;
}

/** Applies an EXIF orientation, so the pixels are as the photo is meant to be seen. */
export function applyOrientation(img: RasterImage, orientation: number): RasterImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: W, height: H, channels: C, data } = img;
  const swap = orientation >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sx = x; sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        default: sx = W - 1 - y; sy = x; break; // 8
      }
      const d = (y * w + x) * C;
      const s0 = (sy * W + sx) * C;
      for (let k = 0; k < C; k++) out[d + k] = data[s0 + k];
    }
  }
  return { width: w, height: h, channels: C, data: out };
}

/** Format and size from the header alone; rejects unknown formats. */
export function readImageHeader(bytes: Uint8Array, file: string): ImageHeader {
  if (bytes.length === 0) throw new XaiLensError('empty file', file);
  const format = detectFormat(bytes);
  if (format === 'png') {
    const { width, height } = readPngHeader(bytes, file);
    return { format, width, height };
  }
  if (format === 'jpeg') {
    const { width, height } = readJpegHeader(bytes, file);
    return { format, width, height };
  }
  throw new XaiLensError(describeUnknown(bytes), file);
}

function checkDimensions(h: ImageHeader, file: string, maxPixels: number): void {
  const name = h.format.toUpperCase();
  if (h.width === 0 || h.height === 0) {
    throw new XaiLensError(`${name} declares an empty ${h.width}×${h.height} image`, file);
  }
  const pixels = h.width * h.height;
  if (pixels > maxPixels) {
    const mp = (n: number) => `${+(n / 1e6).toFixed(1)} megapixels`;
    throw new XaiLensError(`image is ${h.width}×${h.height} (${mp(pixels)}), over the ${mp(maxPixels)} limit`, file);
  }
}

/** Decodes PNG or JPEG bytes to 0..1 floats: gray → 1 channel, gray+alpha → RGBA, palette → RGB or RGBA. */
export function decodeImage(bytes: Uint8Array, file: string, limits: DecodeLimits = {}): RasterImage {
  const header = readImageHeader(bytes, file);
  checkDimensions(header, file, limits.maxPixels ?? DEFAULT_MAX_PIXELS);
  return header.format === 'png' ? decodePng(bytes, file) : applyOrientation(decodeJpeg(bytes, file, limits), jpegOrientation(bytes));
}

function decodePng(bytes: Uint8Array, file: string): RasterImage {
  const h = readPngHeader(bytes, file);
  // fast-png's Adam7 path assumes whole-byte pixels; refuse rather than return scrambled pixels.
  if (h.interlace === 1 && h.depth < 8) {
    throw new XaiLensError(`interlaced PNG with ${h.depth}-bit samples is not supported; re-save it non-interlaced`, file);
  }
  let png: DecodedPng;
  try {
    png = decodePngBytes(bytes, { checkCrc: true });
  } catch (e) {
    throw new XaiLensError(`corrupt PNG: ${libraryProblem(e)}`, file);
  }
  return pngToRaster(png, file);
}

/** A decoder library's exception as a short phrase; reads past the end of a buffer mean the file is cut short. */
function libraryProblem(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/[\s:]+$/, '');
  if (e instanceof RangeError && /bounds|offset/i.test(msg)) return 'unexpected end of data (truncated file?)';
  return msg || 'decoder failed';
}

/** Reads sample x of a row whose samples are packed `depth` bits each, most significant first (PNG order). */
function packedSample(data: ArrayLike<number>, rowStart: number, x: number, depth: number): number {
  const bit = x * depth;
  return (data[rowStart + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

function pngToRaster(png: DecodedPng, file: string): RasterImage {
  const { width, height, depth, data } = png;
  const n = width * height;
  const indexed = png.channels === 1 && png.palette !== undefined && png.palette.length > 0;
  const inCh = png.channels;
  const rowSamples = width * inCh;
  const rowLen = depth < 8 ? Math.ceil((rowSamples * depth) / 8) : rowSamples;
  if (data.length < rowLen * height) {
    throw new XaiLensError(`corrupt PNG: pixel data is truncated (${data.length} of ${rowLen * height} samples)`, file);
  }
  const sample = depth < 8
    ? (y: number, s: number) => packedSample(data, y * rowLen, s, depth)
    : (y: number, s: number) => data[y * rowLen + s];

  if (indexed) {
    const palette = png.palette as number[][];
    const outCh: Channels = palette[0].length === 4 ? 4 : 3;
    const out = new Float32Array(n * outCh);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const entry = palette[sample(y, x)];
        if (!entry) throw new XaiLensError(`corrupt PNG: palette index ${sample(y, x)} out of range`, file);
        const d = (y * width + x) * outCh;
        for (let c = 0; c < outCh; c++) out[d + c] = (entry[c] ?? 255) / 255;
      }
    }
    return { width, height, channels: outCh, data: out };
  }

  const max = (1 << depth) - 1;
  // A tRNS chunk on gray/RGB names one colour that is fully transparent.
  const key = png.transparency && png.transparency.length === (inCh === 1 ? 1 : inCh === 3 ? 3 : 0)
    ? png.transparency : undefined;
  const outCh: Channels = inCh === 1 && !key ? 1 : inCh === 3 && !key ? 3 : 4;
  const out = new Float32Array(n * outCh);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = (y * width + x) * outCh;
      const s = x * inCh;
      if (inCh === 1 || inCh === 2) {
        const g = sample(y, s) / max;
        if (outCh === 1) {
          out[d] = g;
          continue;
        }
        out[d] = out[d + 1] = out[d + 2] = g;
        out[d + 3] = inCh === 2 ? sample(y, s + 1) / max : key && sample(y, s) === key[0] ? 0 : 1;
      } else {
        out[d] = sample(y, s) / max;
        out[d + 1] = sample(y, s + 1) / max;
        out[d + 2] = sample(y, s + 2) / max;
        if (outCh === 4) {
          out[d + 3] = inCh === 4
            ? sample(y, s + 3) / max
            : key && sample(y, s) === key[0] && sample(y, s + 1) === key[1] && sample(y, s + 2) === key[2] ? 0 : 1;
        }
      }
    }
  }
  return { width, height, channels: outCh, data: out };
}

function decodeJpeg(bytes: Uint8Array, file: string, limits: DecodeLimits): RasterImage {
  const { components } = readJpegHeader(bytes, file);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: (limits.maxPixels ?? DEFAULT_MAX_PIXELS) / 1e6,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
  } catch (e) {
    throw new XaiLensError(`corrupt JPEG: ${libraryProblem(e)}`, file);
  }
  const { width, height, data } = decoded;
  const n = width * height;
  if (width === 0 || height === 0 || data.length < n * 3) throw new XaiLensError('corrupt JPEG: no image data', file);
  // jpeg-js always emits RGB; a one-component (grayscale) JPEG keeps one channel.
  const channels: Channels = components === 1 ? 1 : 3;
  const out = new Float32Array(n * channels);
  if (channels === 1) {
    for (let p = 0; p < n; p++) out[p] = data[p * 3] / 255;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
  }
  return { width, height, channels, data: out };
}

function fsProblem(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not an image file';
  return `cannot read file: ${e instanceof Error ? e.message : String(e)}`;
}

/** Reads and decodes an image file, refusing missing, empty, oversized, unknown and corrupt files by name. */
export async function readImageFile(path: string, limits: DecodeLimits = {}): Promise<RasterImage> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = st.size;
  } catch (e) {
    throw new XaiLensError(fsProblem(e), path);
  }
  checkFileSize(size, path, maxBytes);
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new XaiLensError(fsProblem(e), path);
  }
  return decodeFileBytes(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path, limits);
}

function checkFileSize(size: number, file: string, maxBytes: number): void {
  if (size === 0) throw new XaiLensError('empty file', file);
  if (size > maxBytes) {
    const mb = (n: number) => (n < 1024 * 1024 ? `${n} bytes` : `${+(n / (1024 * 1024)).toFixed(1)} MB`);
    throw new XaiLensError(`file is ${mb(size)}, over the ${mb(maxBytes)} limit`, file);
  }
}

/** decodeImage plus the file-size checks readImageFile makes, for callers that already hold a file's bytes. */
export function decodeFileBytes(bytes: Uint8Array, file: string, limits: DecodeLimits = {}): RasterImage {
  checkFileSize(bytes.length, file, limits.maxBytes ?? DEFAULT_MAX_BYTES);
  return decodeImage(bytes, file, limits);
}

/** Encodes as an 8-bit PNG (gray, RGB or RGBA as the image has), values rounded and clamped. */
export function encodePng(img: RasterImage): Uint8Array {
  return encodePngBytes({ width: img.width, height: img.height, data: toBytes(img), depth: 8, channels: img.channels });
}
