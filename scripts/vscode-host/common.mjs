// Shared by the integration-test launchers: paths, the temporary test workspace and the result report.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const testIndex = join(repoRoot, 'out', 'test', 'integration', 'index'); // the extensionTestsPath (no .js)
export const fixtureWorkspace = join(repoRoot, 'test', 'fixtures', 'workspace');

/** One line on stderr and a non-zero exit: for missing prerequisites. */
export function fail(message, code = 2) {
  console.error(`error: ${message}`);
  process.exit(code);
}

export function checkBuilt() {
  if (!existsSync(join(repoRoot, 'dist', 'extension.js'))) fail('dist/extension.js not found: run node esbuild.mjs');
  if (!existsSync(`${testIndex}.js`)) fail('out/test/integration/index.js not found: run node esbuild.mjs --integration');
}

/** A fresh temporary folder (removed by the caller) holding a copy of test/fixtures/workspace/ as `workspace/`. */
export function makeTempRoot(prefix) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  if (existsSync(fixtureWorkspace)) cpSync(fixtureWorkspace, workspace, { recursive: true });
  return { root, workspace };
}

export function removeTempRoot(root) {
  if (process.env.XAI_LENS_KEEP_TEMP) {
    console.log(`kept temporary folder ${root} (XAI_LENS_KEEP_TEMP is set)`);
    return;
  }
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (e) {
    console.error(`warning: could not remove the temporary folder ${root}: ${e.message}`);
  }
}

/** Reads the JSON written by test/integration/index.ts; null when it is missing or unreadable. */
export function readResult(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Prints one line per test (and its error, indented) and returns { passed, failed }. */
export function printTests(tests) {
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    const mark = t.state === 'passed' ? 'PASS' : t.state === 'failed' ? 'FAIL' : 'SKIP';
    const ms = t.durationMs !== undefined ? ` (${t.durationMs} ms)` : '';
    console.log(`  ${mark}  ${t.title}${ms}`);
    if (t.state === 'failed' && t.error) console.log(String(t.error).split('\n').map((l) => `        ${l}`).join('\n'));
    if (t.state === 'passed') passed++;
    if (t.state === 'failed') failed++;
  }
  return { passed, failed };
}
