// AssemblyScript, not TypeScript: compiled with SIMD and embedded in each bundle by scripts/esbuild-assemblyscript.mjs;
// bound to tfjs kernels in ../simdKernels.ts.
//
// SIMD kernels for the TensorFlow.js wasm backend. The module imports the backend's own memory, so every pointer below
// is a byte offset of a tensor already on that heap: nothing is copied in or out. Written by hand because stock
// tfjs-backend-wasm has no such fused ops (composing batch norm forward + backward + relu6 backward from its kernels
// costs about 20 passes over the activation, these kernels 6) or runs them as scalar loops (inference batch norm,
// pooling gradients), while a plain JS loop over the heap is ~5x slower per pass than wasm SIMD.
//
// The module must hold no static data (it would be written over tfjs' heap at instantiation) and never allocates:
// callers pass scratch space as a tensor they own. The esbuild plugin refuses a module with data segments.
//
// Per-channel sums are accumulated in float32 over at most BLOCK rows and then added into float64 accumulators, so
// sums over a whole batch (N·H·W ≈ 10^5 rows) keep float64-like accuracy at float32 SIMD speed.

const BLOCK: i32 = 32;

/** acc64[k] += acc32[k]; acc32[k] = 0, for k < n. */
function flush(acc32: usize, acc64: usize, n: i32): void {
  for (let k = 0; k < n; k++) {
    const p = acc32 + (<usize>k << 2);
    const q = acc64 + (<usize>k << 3);
    store<f64>(q, load<f64>(q) + <f64>load<f32>(p));
    store<f32>(p, 0);
  }
}

function zero(ptr: usize, bytes: i32): void {
  memory.fill(ptr, 0, <usize>bytes);
}

/** acc32[k] += row[k] for k < c. */
@inline function addRow(acc32: usize, row: usize, c: i32): void {
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    const o = <usize>k << 2;
    v128.store(acc32 + o, f32x4.add(v128.load(acc32 + o), v128.load(row + o)));
  }
  for (; k < c; k++) {
    const o = <usize>k << 2;
    store<f32>(acc32 + o, load<f32>(acc32 + o) + load<f32>(row + o));
  }
}

/** y[r, k] = x[r, k] · mul[k] + add[k] over rows × c. */
function affineRows(x: usize, y: usize, mul: usize, add: usize, rows: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  for (let r = 0; r < rows; r++) {
    const from = x + <usize>r * rowBytes;
    const to = y + <usize>r * rowBytes;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      v128.store(to + o, f32x4.add(f32x4.mul(v128.load(from + o), v128.load(mul + o)), v128.load(add + o)));
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      store<f32>(to + o, load<f32>(from + o) * load<f32>(mul + o) + load<f32>(add + o));
    }
  }
}

/**
 * Training-mode batch norm over the rows of x [rows, c]: writes the batch mean and (biased) variance and
 * y = (x − mean) · γ/√(var + ε) + β. Scratch: 5·c floats.
 */
export function batchNormForward(
  x: usize, y: usize, mean: usize, variance: usize, gamma: usize, beta: usize, scratch: usize,
  rows: i32, c: i32, epsilon: f32,
): void {
  const acc64 = scratch; // c f64
  const acc32 = scratch + (<usize>c << 3); // c f32
  const scale = acc32 + (<usize>c << 2); // c f32
  const shift = scale + (<usize>c << 2); // c f32
  const rowBytes = <usize>c << 2;
  zero(scratch, c * 12);
  for (let r = 0; r < rows; r++) {
    addRow(acc32, x + <usize>r * rowBytes, c);
    if ((r + 1) % BLOCK == 0) flush(acc32, acc64, c);
  }
  flush(acc32, acc64, c);
  for (let k = 0; k < c; k++) {
    const o = <usize>k << 2;
    store<f32>(mean + o, <f32>(load<f64>(acc64 + (<usize>k << 3)) / <f64>rows));
  }
  zero(acc64, c * 8);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      const d = f32x4.sub(v128.load(row + o), v128.load(mean + o));
      v128.store(acc32 + o, f32x4.add(v128.load(acc32 + o), f32x4.mul(d, d)));
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const d = load<f32>(row + o) - load<f32>(mean + o);
      store<f32>(acc32 + o, load<f32>(acc32 + o) + d * d);
    }
    if ((r + 1) % BLOCK == 0) flush(acc32, acc64, c);
  }
  flush(acc32, acc64, c);
  for (let k = 0; k < c; k++) {
    const o = <usize>k << 2;
    const v = load<f64>(acc64 + (<usize>k << 3)) / <f64>rows;
    store<f32>(variance + o, <f32>v);
    const s = <f64>load<f32>(gamma + o) / Math.sqrt(v + <f64>epsilon);
    store<f32>(scale + o, <f32>s);
    store<f32>(shift + o, <f32>(<f64>load<f32>(beta + o) - <f64>load<f32>(mean + o) * s));
  }
  affineRows(x, y, scale, shift, rows, c);
}

/**
 * Inference batch norm with per-channel statistics: y = (x − mean) · scale/√(var + ε) + offset, as one multiply-add
 * per element (scale 1 and offset 0 where absent). Scratch: 2·c floats.
 */
export function batchNormInference(
  x: usize, y: usize, mean: usize, variance: usize, scale: usize, offset: usize, scratch: usize,
  rows: i32, c: i32, epsilon: f32, hasScale: bool, hasOffset: bool,
): void {
  const mul = scratch;
  const add = scratch + (<usize>c << 2);
  for (let k = 0; k < c; k++) {
    const o = <usize>k << 2;
    const s = (hasScale ? <f64>load<f32>(scale + o) : 1) / Math.sqrt(<f64>load<f32>(variance + o) + <f64>epsilon);
    store<f32>(mul + o, <f32>s);
    store<f32>(add + o, <f32>((hasOffset ? <f64>load<f32>(offset + o) : 0) - <f64>load<f32>(mean + o) * s));
  }
  affineRows(x, y, mul, add, rows, c);
}

/**
 * Backward pass of batchNormForward, given its saved mean and variance: with x̂ = (x − mean)/√(var + ε),
 * dγ = Σ dy·x̂, dβ = Σ dy and dx = γ/√(var + ε) · (dy − mean(dy) − x̂ · mean(dy·x̂)). Scratch: 9·c floats.
 */
export function batchNormBackward(
  x: usize, dy: usize, mean: usize, variance: usize, gamma: usize, scratch: usize,
  dx: usize, dgamma: usize, dbeta: usize, rows: i32, c: i32, epsilon: f32,
): void {
  const sumDy64 = scratch; // c f64
  const sumDyX64 = scratch + (<usize>c << 3); // c f64: Σ dy·(x − mean)
  const sumDy32 = scratch + (<usize>c << 4); // c f32
  const sumDyX32 = sumDy32 + (<usize>c << 2); // c f32
  const a = sumDyX32 + (<usize>c << 2); // c f32: γ/σ
  const b = a + (<usize>c << 2); // c f32: coefficient of (x − mean)
  const d = b + (<usize>c << 2); // c f32: constant term
  const rowBytes = <usize>c << 2;
  zero(scratch, c * 24);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const gr = dy + <usize>r * rowBytes;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      const g = v128.load(gr + o);
      v128.store(sumDy32 + o, f32x4.add(v128.load(sumDy32 + o), g));
      const xc = f32x4.sub(v128.load(xr + o), v128.load(mean + o));
      v128.store(sumDyX32 + o, f32x4.add(v128.load(sumDyX32 + o), f32x4.mul(g, xc)));
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const g = load<f32>(gr + o);
      store<f32>(sumDy32 + o, load<f32>(sumDy32 + o) + g);
      store<f32>(sumDyX32 + o, load<f32>(sumDyX32 + o) + g * (load<f32>(xr + o) - load<f32>(mean + o)));
    }
    if ((r + 1) % BLOCK == 0) {
      flush(sumDy32, sumDy64, c);
      flush(sumDyX32, sumDyX64, c);
    }
  }
  flush(sumDy32, sumDy64, c);
  flush(sumDyX32, sumDyX64, c);
  for (let k = 0; k < c; k++) {
    const o = <usize>k << 2;
    const invStd = 1 / Math.sqrt(<f64>load<f32>(variance + o) + <f64>epsilon);
    const sDy = load<f64>(sumDy64 + (<usize>k << 3));
    const sDyXhat = load<f64>(sumDyX64 + (<usize>k << 3)) * invStd;
    store<f32>(dbeta + o, <f32>sDy);
    store<f32>(dgamma + o, <f32>sDyXhat);
    const ak = <f64>load<f32>(gamma + o) * invStd;
    store<f32>(a + o, <f32>ak);
    store<f32>(b + o, <f32>(-ak * invStd * sDyXhat / <f64>rows));
    store<f32>(d + o, <f32>(-ak * sDy / <f64>rows));
  }
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const gr = dy + <usize>r * rowBytes;
    const out = dx + <usize>r * rowBytes;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      const xc = f32x4.sub(v128.load(xr + o), v128.load(mean + o));
      const t = f32x4.add(f32x4.mul(v128.load(a + o), v128.load(gr + o)), f32x4.mul(v128.load(b + o), xc));
      v128.store(out + o, f32x4.add(t, v128.load(d + o)));
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const xc = load<f32>(xr + o) - load<f32>(mean + o);
      store<f32>(out + o, load<f32>(a + o) * load<f32>(gr + o) + load<f32>(b + o) * xc + load<f32>(d + o));
    }
  }
}

/** dx = dy where 0 < x ≤ 6, else 0 (the relu6 gradient, as in tfjs). */
export function relu6Backward(dy: usize, x: usize, dx: usize, n: i32): void {
  const zeros = f32x4.splat(0);
  const sixes = f32x4.splat(6);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const mask = v128.and(f32x4.gt(v, zeros), f32x4.le(v, sixes));
    v128.store(dx + o, v128.and(v128.load(dy + o), mask));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(dx + o, v > 0 && v <= 6 ? load<f32>(dy + o) : 0);
  }
}

/**
 * Depthwise conv filter gradient, NHWC: dF[i,j,k,q] = Σ over n and output pixels of
 * x[n, oy·sh + i·dh − top, ox·sw + j·dw − left, k] · dy[n, oy, ox, k·m + q]. Each dy pixel is read once and
 * multiplied into all taps while the KH·KW·C·M accumulators stay in cache. Scratch: 3·KH·KW·C·M floats.
 */
export function depthwiseFilterGrad(
  x: usize, dy: usize, out: usize, scratch: usize,
  n: i32, h: i32, w: i32, c: i32, m: i32, oh: i32, ow: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, top: i32, left: i32,
): void {
  const cm = c * m;
  const size = kh * kw * cm;
  const acc64 = scratch;
  const acc32 = scratch + (<usize>size << 3);
  zero(scratch, size * 12);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const g = dy + ((<usize>((b * oh + oy) * ow + ox) * <usize>cm) << 2);
        for (let i = 0; i < kh; i++) {
          const iy = oy * sh + i * dh - top;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = ox * sw + j * dw - left;
            if (ix < 0 || ix >= w) continue;
            const xr = x + ((<usize>((b * h + iy) * w + ix) * <usize>c) << 2);
            const a = acc32 + ((<usize>((i * kw + j) * cm)) << 2);
            if (m == 1) {
              let k = 0;
              for (; k + 4 <= c; k += 4) {
                const o = <usize>k << 2;
                v128.store(a + o, f32x4.add(v128.load(a + o), f32x4.mul(v128.load(xr + o), v128.load(g + o))));
              }
              for (; k < c; k++) {
                const o = <usize>k << 2;
                store<f32>(a + o, load<f32>(a + o) + load<f32>(xr + o) * load<f32>(g + o));
              }
            } else {
              for (let k = 0; k < c; k++) {
                const xv = load<f32>(xr + (<usize>k << 2));
                for (let q = 0; q < m; q++) {
                  const o = <usize>(k * m + q) << 2;
                  store<f32>(a + o, load<f32>(a + o) + xv * load<f32>(g + o));
                }
              }
            }
          }
        }
      }
      flush(acc32, acc64, size);
    }
  }
  for (let k = 0; k < size; k++) store<f32>(out + (<usize>k << 2), <f32>load<f64>(acc64 + (<usize>k << 3)));
}

/** Gradient of a full-window (global) average pool: dx[b, p, k] = dy[b, k] / hw for every pixel p of hw. */
export function globalAvgPoolGrad(dy: usize, dx: usize, n: i32, hw: i32, c: i32): void {
  const scale = f32x4.splat(<f32>1 / <f32>hw);
  const rowBytes = <usize>c << 2;
  for (let b = 0; b < n; b++) {
    const g = dy + <usize>b * rowBytes;
    for (let p = 0; p < hw; p++) {
      const to = dx + <usize>(b * hw + p) * rowBytes;
      let k = 0;
      for (; k + 4 <= c; k += 4) {
        const o = <usize>k << 2;
        v128.store(to + o, f32x4.mul(v128.load(g + o), scale));
      }
      for (; k < c; k++) {
        const o = <usize>k << 2;
        store<f32>(to + o, load<f32>(g + o) / <f32>hw);
      }
    }
  }
}

/**
 * Max-pool gradient, NHWC: each window's dy goes to the first pixel (in row-major window order) holding the window's
 * maximum, summed where windows overlap; windows of only -Infinity or NaN pass nothing on. This is the tfjs cpu
 * kernel's rule; the stock wasm kernel picks wrong pixels for some strides and sizes (a 1×1 pool, for one).
 * Scratch: 2·c floats.
 */
export function maxPoolGrad(
  x: usize, dy: usize, dx: usize, scratch: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  fh: i32, fw: i32, sh: i32, sw: i32, dh: i32, dw: i32, top: i32, left: i32,
): void {
  const best = scratch; // c f32
  const where = scratch + (<usize>c << 2); // c i32: pixel index within the image, −1 for none
  const rowBytes = <usize>c << 2;
  const noValue = f32x4.splat(-Infinity);
  const nowhere = i32x4.splat(-1);
  memory.fill(dx, 0, <usize>n * <usize>(h * w) * rowBytes);
  for (let b = 0; b < n; b++) {
    const image = x + <usize>b * <usize>(h * w) * rowBytes;
    const grads = dx + <usize>b * <usize>(h * w) * rowBytes;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let k = 0;
        for (; k + 4 <= c; k += 4) {
          v128.store(best + (<usize>k << 2), noValue);
          v128.store(where + (<usize>k << 2), nowhere);
        }
        for (; k < c; k++) {
          store<f32>(best + (<usize>k << 2), -Infinity);
          store<i32>(where + (<usize>k << 2), -1);
        }
        for (let fy = 0; fy < fh; fy++) {
          const iy = oy * sh - top + fy * dh;
          if (iy < 0 || iy >= h) continue;
          for (let fx = 0; fx < fw; fx++) {
            const ix = ox * sw - left + fx * dw;
            if (ix < 0 || ix >= w) continue;
            const pixel = iy * w + ix;
            const row = image + <usize>pixel * rowBytes;
            const at = i32x4.splat(pixel);
            k = 0;
            for (; k + 4 <= c; k += 4) {
              const o = <usize>k << 2;
              const v = v128.load(row + o);
              const m = v128.load(best + o);
              const greater = f32x4.gt(v, m);
              v128.store(best + o, v128.bitselect(v, m, greater));
              v128.store(where + o, v128.bitselect(at, v128.load(where + o), greater));
            }
            for (; k < c; k++) {
              const o = <usize>k << 2;
              const v = load<f32>(row + o);
              if (v > load<f32>(best + o)) {
                store<f32>(best + o, v);
                store<i32>(where + o, pixel);
              }
            }
          }
        }
        const g = dy + <usize>((b * oh + oy) * ow + ox) * rowBytes;
        for (k = 0; k < c; k++) {
          const o = <usize>k << 2;
          const p = load<i32>(where + o);
          if (p < 0) continue;
          const to = grads + <usize>p * rowBytes + o;
          store<f32>(to, load<f32>(to) + load<f32>(g + o));
        }
      }
    }
  }
}
