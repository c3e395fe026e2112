/**
 * The helper injected into a JavaScript program paused in js-debug, as the source of one self-contained function:
 * `jsHelperSource()` is its text, evaluated once in the debuggee as `globalThis.__xaiLensHelper`. Each answer is a
 * base64 string of JSON (so no debugger quoting or escaping matters); byte blocks travel as base64 chunks. It holds
 * only the bytes of the transfer in progress, released after it; nothing is logged.
 *
 * Written as real code (so lint and the type checker read it) but it must stay self-contained: no imports, no
 * closures over this module, plain ES2020 that any Node or browser debuggee runs.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
export function xaiLensHelperFactory(): unknown {
  const CHUNK = 4 * 1024 * 1024;
  const state: { data?: Uint8Array; chunk: number } = { chunk: CHUNK };
  const g: any = globalThis as any;

  function b64(bytes: Uint8Array): string {
    if (g.Buffer) return g.Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
    return g.btoa(s);
  }
  function answer(obj: unknown): string {
    return b64(new TextEncoder().encode(JSON.stringify(obj)));
  }
  function error(e: unknown): string {
    const m = e instanceof Error ? e.message : String(e);
    return answer({ error: m.split('\n')[0] || 'unknown error' });
  }
  function fs(): any {
    const p = g.process;
    if (p && typeof p.getBuiltinModule === 'function') return p.getBuiltinModule('fs');
    if (typeof g.require === 'function') return g.require('fs');
    if (p && p.mainModule) return p.mainModule.require('fs');
    throw new Error('this debuggee cannot read files (no Node fs module)');
  }
  function magic(b: Uint8Array): string | undefined {
    if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
    return undefined;
  }
  const isTensor = (v: any) => v && typeof v.dataSync === 'function' && Array.isArray(v.shape) && typeof v.dtype === 'string';
  const isModel = (v: any) => v && typeof v.getWeights === 'function' && typeof v.toJSON === 'function' && typeof v.predict === 'function';
  const isImageData = (v: any) => v && v.data instanceof Uint8ClampedArray && typeof v.width === 'number' && typeof v.height === 'number';
  const isTyped = (v: any) => ArrayBuffer.isView(v) && !(v instanceof DataView);
  const typedDtype = (v: any) => (v instanceof Uint8Array || v instanceof Uint8ClampedArray ? 'uint8' : String(v.constructor.name).replace(/Array$/, '').toLowerCase());

  /** Shape of a rectangular nested array of numbers/booleans; throws on ragged ones. */
  function nestedShape(v: any[]): number[] {
    const shape: number[] = [];
    let cur: any = v;
    while (Array.isArray(cur)) {
      shape.push(cur.length);
      cur = cur[0];
    }
    if (typeof cur !== 'number' && typeof cur !== 'boolean') throw new Error(`an array of ${typeof cur} is not an image`);
    return shape;
  }
  function flattenNested(v: any[], shape: number[]): Float32Array {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    let k = 0;
    const walk = (a: any, d: number) => {
      if (d === shape.length) {
        out[k++] = Number(a);
        return;
      }
      if (!Array.isArray(a) || a.length !== shape[d]) throw new Error(`the nested array is ragged at depth ${d} (expected ${shape[d]} items)`);
      for (const x of a) walk(x, d + 1);
    };
    walk(v, 0);
    return out;
  }
  /** A flat typed array has no shape: square images of 3, 1 or 4 channels are recognised by their length. */
  function flatShape(v: any): number[] {
    const n = v.length;
    const order = v instanceof Uint8ClampedArray ? [4, 3, 1] : [3, 1, 4];
    for (const c of order) {
      const s = Math.round(Math.sqrt(n / c));
      if (s >= 4 && s * s * c === n) return c === 1 ? [s, s] : [s, s, c];
    }
    throw new Error(`a ${v.constructor.name} of ${n} values has no image shape (not s×s×1, s×s×3 or s×s×4)`);
  }

  function describeValue(v: any): any {
    if (typeof v === 'string') {
      const f = fs();
      if (!f.existsSync(v) || !f.statSync(v).isFile()) throw new Error(`the string ${JSON.stringify(v.slice(0, 200))} is not the path of an image file in the debuggee`);
      const fd = f.openSync(v, 'r');
      const head = new Uint8Array(16);
      try {
        f.readSync(fd, head, 0, 16, 0);
      } finally {
        f.closeSync(fd);
      }
      const format = magic(head);
      if (!format) throw new Error(`${v} is not a PNG or JPEG file`);
      return { kind: 'encoded', format, byteLength: f.statSync(v).size, path: v };
    }
    if (isModel(v)) return { kind: 'model', framework: 'tfjs', className: v.getClassName ? v.getClassName() : v.constructor.name };
    if (isTensor(v)) return { kind: 'array', shape: v.shape.slice(), dtype: v.dtype };
    if (isImageData(v)) return { kind: 'array', shape: [v.height, v.width, 4], dtype: 'uint8' };
    if (isTyped(v)) {
      const format = v instanceof Uint8Array ? magic(v) : undefined;
      if (format) return { kind: 'encoded', format, byteLength: v.byteLength };
      return { kind: 'array', shape: flatShape(v), dtype: typedDtype(v) };
    }
    if (Array.isArray(v)) {
      const shape = nestedShape(v);
      let cur: any = v;
      while (Array.isArray(cur)) cur = cur[0];
      return { kind: 'array', shape, dtype: typeof cur === 'boolean' ? 'bool' : 'float32' };
    }
    const name = v === null ? 'null' : v === undefined ? 'undefined' : (v.constructor && v.constructor.name) || typeof v;
    throw new Error(`a value of type ${name} is not an image (tf.Tensor, TypedArray, nested array, ImageData, PNG/JPEG Buffer or an image path)`);
  }

  /** One image's samples (batch item `index` when given) as uint8 or float32 bytes. */
  function sampleBytes(v: any, index: number | null): { data: Uint8Array; dtype: string } {
    if (typeof v === 'string') return { data: new Uint8Array(fs().readFileSync(v)), dtype: 'uint8' };
    let values: ArrayLike<number>;
    let dtype: string;
    let shape: number[];
    if (isTensor(v)) {
      values = v.dataSync();
      dtype = v.dtype;
      shape = v.shape;
    } else if (isImageData(v)) {
      values = v.data;
      dtype = 'uint8';
      shape = [v.height, v.width, 4];
    } else if (isTyped(v)) {
      if (v instanceof Uint8Array && magic(v)) return { data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), dtype: 'uint8' };
      values = v;
      dtype = typedDtype(v);
      shape = flatShape(v);
    } else if (Array.isArray(v)) {
      shape = nestedShape(v);
      values = flattenNested(v, shape);
      dtype = 'float32';
    } else {
      throw new Error('not an image');
    }
    let start = 0;
    let n = values.length;
    if (index !== null) {
      n = shape.slice(1).reduce((a, b) => a * b, 1);
      start = index * n;
    }
    if (dtype === 'uint8' || dtype === 'bool') {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(values[start + i]);
      return { data: out, dtype: 'uint8' };
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = Number(values[start + i]);
    return { data: new Uint8Array(out.buffer), dtype: 'float32' };
  }

  /** Answers the meta with the first chunk inline; holds the rest for chunk(i), released after the last one. */
  function hold(meta: Record<string, unknown>, data: Uint8Array, chunk = CHUNK): string {
    const chunks = Math.max(1, Math.ceil(data.byteLength / chunk));
    state.data = chunks > 1 ? data : undefined;
    state.chunk = chunk;
    return answer({ ...meta, byteLength: data.byteLength, chunks, first: b64(data.subarray(0, chunk)) });
  }

  return {
    describe(v: unknown): string {
      try {
        return answer(describeValue(v));
      } catch (e) {
        return error(e);
      }
    },
    prepare(v: unknown, index: number | null = null, chunk = CHUNK): string {
      try {
        const { data, dtype } = sampleBytes(v, index);
        return hold({ dtype }, data, chunk);
      } catch (e) {
        return error(e);
      }
    },
    /** Topology (the Keras JSON tfjs writes) and weight specs; the weights' bytes are held for chunk(i). */
    prepareModel(m: any, chunk = CHUNK): string {
      try {
        if (!isModel(m)) throw new Error('not a tf.LayersModel');
        const topology = m.toJSON(null, false);
        // The names tfjs's own save() writes (originalName), which loadLayersModel matches.
        const named: { name: string; tensor: any }[] =
          typeof m.getNamedWeights === 'function' ? m.getNamedWeights() : m.weights.map((w: any) => ({ name: w.originalName ?? w.name, tensor: w.read() }));
        const specs: { name: string; shape: number[]; dtype: string }[] = [];
        const parts: Float32Array[] = [];
        let total = 0;
        for (const { name, tensor } of named) {
          if (tensor.dtype !== 'float32') throw new Error(`weight ${name} is ${tensor.dtype}; only float32 weights are read`);
          const d = tensor.dataSync() as Float32Array;
          specs.push({ name, shape: tensor.shape.slice(), dtype: 'float32' });
          parts.push(d);
          total += d.length;
        }
        const all = new Float32Array(total);
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        return hold({ topology, weightSpecs: specs, className: m.getClassName ? m.getClassName() : m.constructor.name }, new Uint8Array(all.buffer), chunk);
      } catch (e) {
        return error(e);
      }
    },
    chunk(i: number): string {
      const data = state.data;
      if (!data) return error('no transfer in progress');
      const n = state.chunk;
      if ((i + 1) * n >= data.byteLength) state.data = undefined;
      return b64(data.subarray(i * n, (i + 1) * n));
    },
    release(): string {
      state.data = undefined;
      return answer({ released: true });
    },
  };
}

/** The factory's source, to be called in the debuggee: `(<source>)()`. */
export function jsHelperSource(): string {
  return xaiLensHelperFactory.toString();
}
