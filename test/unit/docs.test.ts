import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/engine/paths';
import { leaves, renderBenchmarks, type BenchRecord } from '../../scripts/benchmarks-doc';

/** Files at the repository root that docs name without a folder (other bare names are run-folder files, e.g. model.json). */
const ROOT_FILES = ['package.json', 'esbuild.mjs', 'eslint.config.mjs', 'tsconfig.json', 'README.md', '.vscodeignore'];

/** Repository paths named in backticks in a Markdown text (globs and placeholders skipped). */
function namedPaths(markdown: string): string[] {
  const found = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    const p = m[1].replace(/[,.:;]$/, '');
    if (/[<>*{}|]/.test(p) || p.includes('://')) continue;
    if (/^(src|test|scripts|media|docs|webview-ui|bin|\.ci)\//.test(p) || ROOT_FILES.includes(p)) found.add(p.replace(/\/$/, ''));
  }
  return [...found];
}

describe('docs', () => {
  const docs = ['README.md', ...readdirSync(join(packageRoot(), 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const doc of docs) {
    it(`${doc}: every repository path it names exists`, () => {
      const text = readFileSync(join(packageRoot(), doc), 'utf8');
      const paths = namedPaths(text);
      if (doc === 'README.md') assert.ok(paths.length > 10, `only ${paths.length} paths found: the pattern is broken`);
      const missing = paths.filter((p) => !existsSync(join(packageRoot(), p)));
      assert.deepEqual(missing, [], `${doc} names paths that do not exist`);
    });
  }

  it('namedPaths finds paths and skips placeholders, globs and URLs', () => {
    assert.deepEqual(namedPaths('see `src/engine/cli.ts`, `docs/x.md.` and `media/samples/digit-<d>.png`, `test/*.ts`, `package.json`'), [
      'src/engine/cli.ts', 'docs/x.md', 'package.json',
    ]);
  });

  it('benchmarks page: one table per bench, a row per measured leaf, newest run first', () => {
    const rec = (recordedAt: string, ms: number, note?: string): BenchRecord => ({
      bench: 'explain', command: 'npm run bench:explain -- --json', recordedAt, machine: '2 cores', note, result: { backend: 'wasm', methods: { gradcam: { ms } } },
    });
    assert.deepEqual([...leaves({ a: { b: 1, c: 'x' }, d: [1, 2] })], [['a.b', 1], ['a.c', 'x']]);
    const page = renderBenchmarks([rec('2026-01-01T00:00:00Z', 12.345), rec('2026-02-01T00:00:00Z', 150.4, 'after the SIMD kernels')]);
    assert.ok(page.includes('1. 2026-02-01 — `npm run bench:explain -- --json` — 2 cores. after the SIMD kernels\n2. 2026-01-01'), page);
    assert.ok(page.includes('| methods.gradcam.ms | 150 | 12.3 |'), page);
    assert.ok(page.includes('| backend | wasm | wasm |'), page);
  });
});
