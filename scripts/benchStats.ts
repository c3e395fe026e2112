/** Statistics shared by the benchmark scripts. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds of `repeats` runs of f, after one untimed warm-up run unless `warmUp` is false. */
export async function medianMs(repeats: number, f: () => Promise<unknown> | unknown, warmUp = true): Promise<number> {
  if (warmUp) await f();
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
