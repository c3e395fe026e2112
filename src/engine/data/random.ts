/**
 * Seeded pseudo-random numbers for everything that must be reproducible (dataset splits, augmentation): the same
 * seed gives the same sequence on every machine, which Math.random cannot promise.
 */

/** A generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: a tiny 32-bit generator with good statistical quality for data shuffling and augmentation. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded helpers over mulberry32. Box-Muller makes normal numbers in pairs; the spare one is kept for the next call. */
export class SeededRandom {
  private readonly rng: Rng;
  private spare: number | undefined;

  constructor(seed: number) {
    this.rng = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.rng();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rng();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  /** Standard normal (mean 0, standard deviation 1) by Box-Muller. */
  gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    // 1 - u keeps the logarithm's argument in (0, 1].
    const u = 1 - this.rng();
    const v = this.rng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }
}

/** The integers 0..n-1 in a seeded random order. */
export function permutation(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return new SeededRandom(seed).shuffle(out);
}
