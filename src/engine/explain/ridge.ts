/**
 * Weighted ridge regression for LIME's local surrogate: minimizes Σᵢ wᵢ (yᵢ − b − xᵢ·β)² + λ‖β‖² with the intercept b
 * unpenalized (sklearn's Ridge with sample_weight). Written here because LIME needs one small dense solve
 * (d ≲ 200) and no maintained pure-JS npm package does weighted ridge over typed arrays in Float64.
 */

export interface RidgeFit {
  /** β, one per feature. */
  coef: Float64Array;
  intercept: number;
  /**
   * Weighted R² = 1 − Σw(y − ŷ)² / Σw(y − ȳ_w)² on the training samples. When y is constant (zero total sum of
   * squares) it is 1 for a perfect fit and 0 otherwise, as sklearn's r2_score does.
   */
  r2: number;
}

type Vector = Float64Array | Float32Array;

function checkInputs(X: Float32Array, y: Vector, w: Vector, lambda: number): number {
  const n = y.length;
  if (n === 0) throw new RangeError('weightedRidge: no samples');
  if (w.length !== n) throw new RangeError(`weightedRidge: ${n} targets but ${w.length} weights`);
  const d = X.length / n;
  if (!Number.isInteger(d) || d < 1) {
    throw new RangeError(`weightedRidge: X has ${X.length} values, not a multiple of the ${n} samples (n × d)`);
  }
  if (!(Number.isFinite(lambda) && lambda >= 0)) {
    throw new RangeError(`weightedRidge: lambda must be ≥ 0, got ${lambda}`);
  }
  let sw = 0;
  for (let i = 0; i < n; i++) {
    if (!(w[i] >= 0 && w[i] !== Infinity)) throw new RangeError(`weightedRidge: weight ${i} is ${w[i]}, expected ≥ 0`);
    if (!Number.isFinite(y[i])) throw new RangeError(`weightedRidge: target ${i} is ${y[i]}`);
    sw += w[i];
  }
  if (!(sw > 0)) throw new RangeError('weightedRidge: all weights are zero');
  return d;
}

/**
 * In-place Cholesky factorization A = LLᵀ of a symmetric positive-definite d × d matrix (lower triangle used and
 * overwritten). Returns false when a pivot is not clearly positive (singular system).
 */
function cholesky(A: Float64Array, d: number): boolean {
  let maxDiag = 0;
  for (let i = 0; i < d; i++) maxDiag = Math.max(maxDiag, A[i * d + i]);
  const tiny = Math.max(maxDiag, 1) * 1e-13;
  for (let j = 0; j < d; j++) {
    const rj = j * d;
    let s = A[rj + j];
    for (let k = 0; k < j; k++) s -= A[rj + k] * A[rj + k];
    if (!(s > tiny)) return false;
    const ljj = Math.sqrt(s);
    A[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let t = A[ri + j];
      for (let k = 0; k < j; k++) t -= A[ri + k] * A[rj + k];
      A[ri + j] = t * inv;
    }
  }
  return true;
}

/** Solves LLᵀx = b in place in b, L from `cholesky`. */
function choleskySolve(L: Float64Array, d: number, b: Float64Array): void {
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * b[k];
    b[i] = s / L[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * b[k];
    b[i] = s / L[i * d + i];
  }
}

/**
 * Fits weighted ridge regression. X is n × d row-major (LIME: binary "segment kept" masks; any reals work), y and w
 * have n entries, w ≥ 0 (zero-weight samples are ignored), λ ≥ 0.
 *
 * The unpenalized intercept is handled by centring on the weighted means (x̄, ȳ): the (d+1)-dimensional normal
 * equations then reduce exactly to (XcᵀWXc + λI)β = XcᵀWyc with b = ȳ − x̄·β, which is better conditioned. The Gram
 * matrix is accumulated from the non-zeros of each row (cheap for sparse binary masks) and centred afterwards, then
 * solved by Cholesky in Float64. Throws when the system is singular (λ = 0 with collinear or constant features).
 */
export function weightedRidge(X: Float32Array, y: Vector, w: Vector, lambda: number): RidgeFit {
  const d = checkInputs(X, y, w, lambda);
  const n = y.length;
  const G = new Float64Array(d * d); // Σ w x xᵀ, upper triangle
  const sx = new Float64Array(d); // Σ w x
  const sxy = new Float64Array(d); // Σ w x y
  let sw = 0;
  let sy = 0;
  const idx = new Int32Array(d);
  const val = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    const yi = y[i];
    sw += wi;
    sy += wi * yi;
    let nz = 0;
    const row = i * d;
    for (let j = 0; j < d; j++) {
      const v = X[row + j];
      if (v !== 0) {
        idx[nz] = j;
        val[nz++] = v;
      }
    }
    for (let a = 0; a < nz; a++) {
      const ja = idx[a];
      const wa = wi * val[a];
      sx[ja] += wa;
      sxy[ja] += wa * yi;
      const ra = ja * d;
      for (let b = a; b < nz; b++) G[ra + idx[b]] += wa * val[b];
    }
  }
  const xbar = new Float64Array(d);
  for (let j = 0; j < d; j++) xbar[j] = sx[j] / sw;
  const ybar = sy / sw;

  // A = Σw(x − x̄)(x − x̄)ᵀ + λI = G − sw·x̄x̄ᵀ + λI, mirrored into the lower triangle for `cholesky`.
  const A = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = G[a * d + b] - sw * xbar[a] * xbar[b];
      A[b * d + a] = v;
      A[a * d + b] = v;
    }
    A[a * d + a] += lambda;
    rhs[a] = sxy[a] - sw * xbar[a] * ybar;
  }
  if (!cholesky(A, d)) {
    throw new RangeError(
      `weightedRidge: the normal equations are singular (collinear or constant features with lambda ${lambda}); ` +
        'use lambda > 0',
    );
  }
  choleskySolve(A, d, rhs);
  const coef = rhs;
  let intercept = ybar;
  for (let j = 0; j < d; j++) intercept -= xbar[j] * coef[j];
  return { coef, intercept, r2: weightedR2(X, y, w, coef, intercept, ybar) };
}

function weightedR2(
  X: Float32Array,
  y: Vector,
  w: Vector,
  coef: Float64Array,
  intercept: number,
  ybar: number,
): number {
  const n = y.length;
  const d = coef.length;
  let ssRes = 0;
  let ssTot = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    if (wi === 0) continue;
    let pred = intercept;
    const row = i * d;
    for (let j = 0; j < d; j++) pred += X[row + j] * coef[j];
    ssRes += wi * (y[i] - pred) ** 2;
    ssTot += wi * (y[i] - ybar) ** 2;
    scale += wi * y[i] * y[i];
  }
  // Constant y: judged relative to Σw·y², since the weighted mean itself carries round-off of order ε·|y|.
  if (ssTot <= 1e-24 * (scale + Number.MIN_VALUE)) return ssRes <= 1e-12 * (scale + Number.MIN_VALUE) ? 1 : 0;
  return 1 - ssRes / ssTot;
}
