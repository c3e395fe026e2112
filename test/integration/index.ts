/**
 * Entry point of the integration tests, run inside a real VS Code extension host. It follows the contract of
 * `@vscode/test-electron` (`extensionTestsPath` names a module exporting `run(): Promise<void>`), so the same suite
 * runs under code-server (scripts/vscode-host/run-code-server.mjs) and under desktop VS Code
 * (scripts/vscode-host/run-electron.mjs).
 *
 * It runs mocha (bdd) over every bundled `*.test.js` next to it (esbuild.mjs --integration bundles
 * test/integration/**\/*.ts to out/test/integration/), prints `N passed, N failed`, and, when the environment variable
 * XAI_LENS_TEST_RESULT names a file, writes `{ passed, failed, pending, tests: [{ title, state, durationMs?, error? }] }`
 * there: the launchers read it, because console output from the extension host reaches them unformatted or not at all.
 *
 * Optional environment: XAI_LENS_TEST_GREP (only tests whose full title matches), XAI_LENS_MOCHA_TIMEOUT_MS (per-test
 * timeout, default 60000).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export type TestState = 'passed' | 'failed' | 'pending';

export interface TestRecord {
  title: string;
  state: TestState;
  durationMs?: number;
  error?: string;
}

export interface TestResult {
  passed: number;
  failed: number;
  pending: number;
  tests: TestRecord[];
}

function findTestFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

function writeResult(result: TestResult): void {
  const file = process.env.XAI_LENS_TEST_RESULT;
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(result, null, 2));
  fs.renameSync(tmp, file);
}

function summarize(tests: TestRecord[]): TestResult {
  const count = (s: TestState) => tests.filter((t) => t.state === s).length;
  return { passed: count('passed'), failed: count('failed'), pending: count('pending'), tests };
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    reporter: 'spec',
    timeout: Number(process.env.XAI_LENS_MOCHA_TIMEOUT_MS) || 60_000,
  });
  if (process.env.XAI_LENS_TEST_GREP) mocha.grep(process.env.XAI_LENS_TEST_GREP);

  const tests: TestRecord[] = [];
  const finish = (): TestResult => {
    const result = summarize(tests);
    writeResult(result);
    if (result.pending > 0) console.log(`${result.pending} pending`);
    console.log(`${result.passed} passed, ${result.failed} failed`);
    return result;
  };

  const files = findTestFiles(__dirname);
  if (files.length === 0) {
    tests.push({ title: `no *.test.js files in ${__dirname}`, state: 'failed', error: 'run node esbuild.mjs --integration' });
    finish();
    return Promise.reject(new Error(`no integration tests found in ${__dirname}`));
  }
  for (const f of files) mocha.addFile(f);

  return new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run(() => {
        const result = finish();
        if (result.failed > 0) reject(new Error(`${result.failed} integration test(s) failed`));
        else resolve();
      });
      runner.on('pass', (t) => tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration }));
      runner.on('fail', (t, err) =>
        tests.push({ title: t.fullTitle(), state: 'failed', durationMs: t.duration, error: describeError(err) }),
      );
      runner.on('pending', (t) => tests.push({ title: t.fullTitle(), state: 'pending' }));
    } catch (err) {
      // A test file that throws while loading ends up here.
      tests.push({ title: 'loading the integration tests', state: 'failed', error: describeError(err) });
      finish();
      reject(err);
    }
  });
}
