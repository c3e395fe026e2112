/**
 * Reading ONNX protobuf messages (onnx-proto, protobufjs 6) into plain values: tensors as TensorFlow.js tensors in
 * ONNX's own (logical) layout, attributes as numbers, arrays, strings or tensors. int64 values become numbers clamped
 * to the int32 range, which is what TensorFlow.js holds and enough for shapes and indices (ONNX uses INT64_MAX as
 * "to the end" in Slice, which stays "to the end" after clamping).
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

type LongLike = number | { toNumber(): number };

export function num(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function clampInt(v: number): number {
  return Math.max(INT32_MIN, Math.min(INT32_MAX, v));
}

const DT = onnx.TensorProto.DataType;

export function dataTypeName(t: number): string {
  return (DT as unknown as Record<number, string>)[t] ?? `type ${t}`;
}

/** Half-precision bits → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A TensorProto as a tensor (float32 for floating types, int32 for integer and bool types). */
export function tensorFromProto(t: onnx.ITensorProto, bytesOf?: (t: onnx.ITensorProto) => Uint8Array | undefined): tf.Tensor {
  const dims = (t.dims ?? []).map(num);
  const n = dims.reduce((a, d) => a * d, 1);
  const raw = t.rawData && t.rawData.length ? t.rawData : bytesOf?.(t);
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const dataType = t.dataType ?? 0;
  const need = (bytes: number) => {
    if (view && view.byteLength < n * bytes) throw new Error(`tensor "${t.name}" holds ${view.byteLength} bytes, its shape [${dims.join(', ')}] needs ${n * bytes}`);
  };
  switch (dataType) {
    case DT.FLOAT: {
      if (view) {
        need(4);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
        return tf.tensor(out, dims, 'float32');
      }
      return tf.tensor(Float32Array.from(t.floatData ?? []), dims, 'float32');
    }
    case DT.DOUBLE: {
      if (view) {
        need(8);
        return tf.tensor(Float32Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true)), dims, 'float32');
      }
      return tf.tensor(Float32Array.from(t.doubleData ?? []), dims, 'float32');
    }
    case DT.FLOAT16: {
      if (view) {
        need(2);
        return tf.tensor(Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(i * 2, true))), dims, 'float32');
      }
      return tf.tensor(Float32Array.from(t.int32Data ?? [], halfToFloat), dims, 'float32');
    }
    case DT.INT64:
    case DT.UINT64: {
      if (view) {
        need(8);
        return tf.tensor(Int32Array.from({ length: n }, (_, i) => clampInt(Number(view.getBigInt64(i * 8, true)))), dims, 'int32');
      }
      return tf.tensor(Int32Array.from((t.int64Data ?? []).map((v) => clampInt(num(v)))), dims, 'int32');
    }
    case DT.INT32:
    case DT.INT16:
    case DT.INT8:
    case DT.UINT8:
    case DT.UINT16:
    case DT.BOOL: {
      if (view) {
        const size = dataType === DT.INT32 ? 4 : dataType === DT.INT16 || dataType === DT.UINT16 ? 2 : 1;
        need(size);
        const read = (i: number): number =>
          size === 4 ? view.getInt32(i * 4, true) : size === 2 ? (dataType === DT.INT16 ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true)) : dataType === DT.INT8 ? view.getInt8(i) : view.getUint8(i);
        return tf.tensor(Int32Array.from({ length: n }, (_, i) => read(i)), dims, 'int32');
      }
      return tf.tensor(Int32Array.from(t.int32Data ?? []), dims, 'int32');
    }
    default:
      throw new Error(`tensor "${t.name}" has data type ${dataTypeName(dataType)}, which XAI Lens cannot read`);
  }
}

export type AttrValue = number | number[] | string | string[] | onnx.ITensorProto | undefined;

const AT = onnx.AttributeProto.AttributeType;

export function attributes(node: onnx.INodeProto): Map<string, AttrValue> {
  const out = new Map<string, AttrValue>();
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case AT.FLOAT:
        out.set(name, a.f ?? 0);
        break;
      case AT.INT:
        out.set(name, clampInt(num(a.i)));
        break;
      case AT.STRING:
        out.set(name, new TextDecoder().decode(a.s ?? new Uint8Array()));
        break;
      case AT.TENSOR:
        out.set(name, a.t ?? undefined);
        break;
      case AT.FLOATS:
        out.set(name, [...(a.floats ?? [])]);
        break;
      case AT.INTS:
        out.set(name, (a.ints ?? []).map((v) => clampInt(num(v))));
        break;
      case AT.STRINGS:
        out.set(name, (a.strings ?? []).map((s) => new TextDecoder().decode(s)));
        break;
      default:
        out.set(name, undefined);
    }
  }
  return out;
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
