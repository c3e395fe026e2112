/** A generated image-folder dataset for training tests: outlined circles, squares and triangles at random places. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../../src/engine/image/decode';
import { SeededRandom } from '../../src/engine/data/random';

export const SHAPES = ['circle', 'square', 'triangle'] as const;

/** One h × w image (values 0..1, light outline on dark) of a shape of radius r centred at (cx, cy). */
export function drawShape(kind: (typeof SHAPES)[number], size: number, cx: number, cy: number, r: number): Float32Array {
  const out = new Float32Array(size * size);
  const t = Math.max(1, size / 20);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - cx;
      const dy = y - cy;
      let d: number;
      if (kind === 'circle') d = Math.abs(Math.hypot(dx, dy) - r);
      else if (kind === 'square') d = Math.abs(Math.max(Math.abs(dx), Math.abs(dy)) - r);
      else {
        // Distance to the triangle's outline, approximated by the max of three half-plane distances.
        const e = Math.max(dy - r / 2, -0.866 * dx - 0.5 * dy - r / 2, 0.866 * dx - 0.5 * dy - r / 2);
        d = Math.abs(e);
      }
      out[y * size + x] = d < t ? 1 : 0;
    }
  }
  return out;
}

/**
 * root/train/<shape>/NNN.png (perClass each) and root/test/<shape>/NNN.png (testPerClass each), size × size, gray or
 * RGB (the gray image in all three channels).
 */
export function writeShapesFolder(root: string, o: { perClass: number; testPerClass?: number; size?: number; channels?: 1 | 3; seed?: number; flat?: boolean }): void {
  const size = o.size ?? 28;
  const rng = new SeededRandom(o.seed ?? 1);
  const splits: [string, number][] = o.flat ? [['', o.perClass]] : [['train', o.perClass], ['test', o.testPerClass ?? Math.ceil(o.perClass / 4)]];
  for (const [split, n] of splits) {
    for (const kind of SHAPES) {
      const dir = join(root, split, kind);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < n; i++) {
        const r = size * (0.18 + 0.14 * rng.next());
        const cx = r + 1 + rng.next() * (size - 2 * r - 2);
        const cy = r + 1 + rng.next() * (size - 2 * r - 2);
        const gray = drawShape(kind, size, cx, cy, r);
        const c = o.channels ?? 1;
        const data = c === 1 ? gray : Float32Array.from({ length: gray.length * 3 }, (_, k) => gray[Math.floor(k / 3)]);
        writeFileSync(join(dir, `${String(i).padStart(3, '0')}.png`), encodePng({ width: size, height: size, channels: c, data }));
      }
    }
  }
}
