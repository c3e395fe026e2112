/**
 * Request priority in the engine process, measured through the real process (dist/engine-process.js): an image is
 * explained with every method; once its first method has finished, a second image is requested, as a right-click on
 * another image does. Prints, as its last line, JSON with the medians over `--runs` (default 3) of the time from the
 * second request to its first overlay (Grad-CAM partial result) and to its whole result, with and without the first
 * request still running. Run: npm run build && node dist/bench-priority.js [--runs N]
 */
import { join } from 'node:path';
import { EngineClient } from '../src/extension/engineClient';
import { defaultModelDir, packageRoot } from '../src/engine/paths';
import type { ExplainParams } from '../src/shared/protocol';
import { median } from './benchStats';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;

async function main(): Promise<void> {
  const client = new EngineClient({ script: join(packageRoot(), 'dist', 'engine-process.js'), backend: () => 'auto' });
  const info = await client.start();
  const samples = join(packageRoot(), 'media', 'samples');
  const all: ExplainParams['methods'] = ['gradcam', 'gradcampp', 'scorecam', 'gradients', 'smoothgrad', 'ig', 'lime'];
  const base = { modelDir: defaultModelDir(), methods: all, counterfactual: 'gradient' as const };
  await client.request('engine/explain', { ...base, imagePath: join(samples, 'digit-0.png') }); // warm-up
  const second = async (image: string) => {
    const t0 = performance.now();
    let first = -1;
    await client.request('engine/explain', { ...base, imagePath: image }, {
      onPartial: () => {
        if (first < 0) first = performance.now() - t0;
      },
    });
    return { first, whole: performance.now() - t0 };
  };
  const alone: { first: number; whole: number }[] = [];
  const behind: { first: number; whole: number }[] = [];
  for (let i = 0; i < runs; i++) {
    alone.push(await second(join(samples, 'digit-3.png')));
    let started: Promise<{ first: number; whole: number }> | undefined;
    const older = client.request('engine/explain', { ...base, imagePath: join(samples, 'digit-7.png') }, {
      onProgress: (p) => {
        if (p.done === 1 && !started) started = second(join(samples, 'digit-5.png'));
      },
    });
    await older;
    behind.push(await started!);
  }
  await client.stop();
  const ms = (xs: { first: number; whole: number }[], k: 'first' | 'whole') => Math.round(median(xs.map((x) => x[k])));
  console.log(JSON.stringify({
    backend: info.backend, runs,
    alone: { first_overlay_ms: ms(alone, 'first'), whole_ms: ms(alone, 'whole') },
    while_another_runs: { first_overlay_ms: ms(behind, 'first'), whole_ms: ms(behind, 'whole') },
  }));
}

void main();
