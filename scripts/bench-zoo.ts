/**
 * `npm run bench:zoo -- [--epochs N] [--minutes M] [--limit N] [--test-limit N] [--models id,id] [--runs dir] [--threads 1|2] [--option key=value]… [--fresh]`:
 * trains every architecture of the zoo on MNIST within M minutes per row, resumably (scripts/zooBench.ts), and
 * writes docs/zoo.json and docs/zoo.md. `--threads 1` leaves the second core to another row's process. The last line printed is the rows as JSON.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendChoice } from '../src/engine/backend/backends';
import { loadMnist, subset } from '../src/engine/data/datasets';
import { secondThreadPays } from '../src/engine/parallel/replica';
import { runZooBench } from './zooBench';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '10' },
      minutes: { type: 'string', default: '60' },
      limit: { type: 'string' },
      'test-limit': { type: 'string' },
      models: { type: 'string' },
      runs: { type: 'string', default: 'runs/zoo' },
      json: { type: 'string', default: 'docs/zoo.json' },
      md: { type: 'string', default: 'docs/zoo.md' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      fresh: { type: 'boolean' },
      option: { type: 'string', multiple: true },
    },
  });
  const modelOptions: Record<string, string> = {};
  for (const kv of values.option ?? []) {
    const m = /^(\w+)=(.+)$/.exec(kv);
    if (!m) throw new Error(`--option takes key=value (an architecture option, e.g. stemStride=1), got "${kv}"`);
    modelOptions[m[1]] = m[2];
  }
  const backend = await initBackend(parseBackendChoice(values.backend));
  if (values.fresh) {
    rmSync(values.json!, { force: true });
    rmSync(values.runs!, { recursive: true, force: true });
  }
  const testFull = await loadMnist('test');
  const testLimit = values['test-limit'] ? Number(values['test-limit']) : testFull.count;
  const rows = await runZooBench({
    train: await loadMnist('train'),
    test: testLimit < testFull.count ? subset(testFull, Array.from({ length: testLimit }, (_, i) => i)) : testFull,
    architectures: values.models?.split(','),
    epochs: Number(values.epochs),
    minutes: Number(values.minutes),
    limit: values.limit ? Number(values.limit) : undefined,
    modelOptions,
    runsDir: values.runs!, jsonPath: values.json!, mdPath: values.md!,
    backend: backend.description, threads: values.threads ? Number(values.threads) : secondThreadPays(backend.name) ? 2 : 1,
    log: (l) => process.stderr.write(l + '\n'),
  });
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`bench-zoo: ${e.message}\n`);
  process.exitCode = 2;
});
