// fast-png 8 ships ESM with types reachable only through package.json "exports", which this project's
// moduleResolution ("node") does not read; this declares the part of its API the engine uses (matches lib/types.d.ts).
declare module 'fast-png' {
  export type PngDataArray = Uint8Array | Uint8ClampedArray | Uint16Array;
  export type BitDepth = 1 | 2 | 4 | 8 | 16;
  export interface ImageData {
    width: number;
    height: number;
    data: PngDataArray;
    depth?: BitDepth;
    channels?: number;
    text?: Record<string, string>;
    palette?: number[][];
    transparency?: Uint16Array;
  }
  export interface DecodedPng {
    width: number;
    height: number;
    data: PngDataArray;
    depth: BitDepth;
    channels: number;
    text: Record<string, string>;
    palette?: number[][];
    transparency?: Uint16Array;
  }
  export function decode(data: ArrayBufferLike | ArrayBufferView, options?: { checkCrc?: boolean }): DecodedPng;
  export function encode(png: ImageData, options?: { interlace?: 'null' | 'Adam7'; zlib?: { level?: number } }): Uint8Array;
  export function hasPngSignature(array: ArrayLike<number>): boolean;
}
