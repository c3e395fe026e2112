/**
 * Runs one benchmark and keeps its JSON as a record in docs/bench/, then regenerates docs/benchmarks.md:
 *   npm run bench:record -- explain [bench-explain flags]
 *   npm run bench:record -- train [bench-train flags]
 *   npm run bench:record -- latency            (reads test-artifacts/latency.json after npm run bench:latency)
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords, renderBenchmarks, type BenchRecord } from './benchmarks-doc';

const [bench, ...args] = process.argv.slice(2);
const root = process.cwd();
let command: string;
let output: string;
if (bench === 'explain' || bench === 'train') {
  const script = join(root, 'dist', `bench-${bench}.js`);
  command = `npm run bench:${bench} -- ${['--json', ...args].join(' ')}`;
  output = execFileSync(process.execPath, [script, '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
} else if (bench === 'latency') {
  command = 'npm run bench:latency';
  output = readFileSync(join(root, 'test-artifacts', 'latency.json'), 'utf8');
} else {
  console.error('usage: npm run bench:record -- <explain|train|latency> [bench flags]');
  process.exit(2);
}
const last = output.trim().split('\n').pop()!;
const recordedAt = new Date().toISOString();
const record: BenchRecord = {
  bench, command, recordedAt, machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}`, result: JSON.parse(last),
  ...(process.env.BENCH_NOTE ? { note: process.env.BENCH_NOTE } : {}),
};
const file = join(root, 'docs', 'bench', `${bench}-${recordedAt.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
writeFileSync(join(root, 'docs', 'benchmarks.md'), renderBenchmarks(readRecords(join(root, 'docs', 'bench'))));
console.log(`${file} recorded; docs/benchmarks.md regenerated`);
