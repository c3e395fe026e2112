#!/usr/bin/env node
// Runs the integration tests inside a real VS Code extension host: code-server (VS Code 1.139 with its Node extension
// host, installed by scripts/vscode-host/setup.sh) driven by Debian's chromium through playwright-core.
//
//   node scripts/vscode-host/run-code-server.mjs            extension tests (mocha in the host), then the UI tests
//   node scripts/vscode-host/run-code-server.mjs --no-ui    extension tests only
//   node scripts/vscode-host/run-code-server.mjs --ui       UI tests only (test/ui/*.ui.mjs)
//   add --verbose to echo the browser console (the extension host's console lines arrive there) and code-server's log
//
// The extension tests are out/test/integration/index.js (node esbuild.mjs --integration); it writes its results to the
// JSON file named by XAI_LENS_TEST_RESULT, set here on the code-server process so that the extension host inherits it.
// The last line printed is always `N passed, N failed`; the exit status is non-zero on failures or timeout.
//
// Environment: XAI_LENS_HOST_TIMEOUT_MS (whole run, default 2400000: the suite debugs, trains and explains in the host), XAI_LENS_UI_TIMEOUT_MS (per UI test, default
// 300000), CHROMIUM_PATH (default /usr/bin/chromium), XAI_LENS_KEEP_TEMP=1 (keep the temporary folder),
// XAI_LENS_VERBOSE=1 (same as --verbose), XAI_LENS_TEST_GREP (only extension tests whose title matches),
// XAI_LENS_HOST_VSIX (UI scripts against an installed .vsix, below).
import { spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { pathToFileURL } from 'node:url';
import { checkBuilt, fail, makeTempRoot, printTests, readResult, removeTempRoot, repoRoot, testIndex } from './common.mjs';

const argv = process.argv.slice(2);
for (const a of argv) if (!['--ui', '--no-ui', '--verbose'].includes(a)) fail(`unknown option ${a} (use --ui, --no-ui, --verbose)`);
const uiOnly = argv.includes('--ui');
const runUi = !argv.includes('--no-ui');
const verbose = argv.includes('--verbose') || !!process.env.XAI_LENS_VERBOSE;
const overallTimeoutMs = Number(process.env.XAI_LENS_HOST_TIMEOUT_MS) || 2_400_000;
const uiTimeoutMs = Number(process.env.XAI_LENS_UI_TIMEOUT_MS) || 300_000;
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const vscodeTest = join(repoRoot, '.vscode-test');
const node24 = join(vscodeTest, 'node24', 'bin', 'node');
const codeServerEntry = join(vscodeTest, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
// XAI_LENS_UI_DIR: another folder of *.ui.mjs scripts (the latency benchmark lives in scripts/bench-ui).
const uiDir = process.env.XAI_LENS_UI_DIR ? resolvePath(repoRoot, process.env.XAI_LENS_UI_DIR) : join(repoRoot, 'test', 'ui');
const artifactsDir = join(repoRoot, 'test-artifacts', 'ui');
const debugpyTestExtension = join(repoRoot, 'test', 'fixtures', 'debugpy-extension');
// XAI_LENS_HOST_VSIX: a packaged .vsix installed into the fresh profile, as a user gets the extension, instead of
// the repository loaded as the development extension (UI scripts only: the extension tests need the repository).
const vsix = process.env.XAI_LENS_HOST_VSIX ? resolvePath(repoRoot, process.env.XAI_LENS_HOST_VSIX) : undefined;
if (vsix && !uiOnly) fail('XAI_LENS_HOST_VSIX needs --ui (the extension tests run from the repository)');
if (vsix && !existsSync(vsix)) fail(`XAI_LENS_HOST_VSIX: ${vsix} does not exist (npm run package builds it)`);
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

// Prerequisites, each with a one-line error.
if (!existsSync(node24) || !existsSync(codeServerEntry)) fail('code-server not installed in .vscode-test/: run bash scripts/vscode-host/setup.sh');
if (!existsSync(chromiumPath)) fail(`chromium not found at ${chromiumPath}: run bash scripts/vscode-host/setup.sh`);
if (!uiOnly) checkBuilt();
else if (!existsSync(join(repoRoot, 'dist', 'extension.js'))) fail('dist/extension.js not found: run node esbuild.mjs');
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  fail('playwright-core is not installed: run npm ci');
}

const t0 = Date.now();
const deadline = t0 + overallTimeoutMs;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (msg) => console.log(`[host] ${msg}`);

// Everything that must be undone, whatever happens.
const state = { server: null, serverExited: false, browser: null, root: null, logFile: null };
const consoleTail = [];

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopServer() {
  const child = state.server;
  if (!child) return;
  state.server = null;
  const pid = child.pid;
  if (!groupAlive(pid)) return;
  try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
  for (let i = 0; i < 50 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) {
    log(`code-server did not stop on SIGTERM within 5 s; sending SIGKILL to process group ${pid}`);
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    for (let i = 0; i < 20 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
}

// Runs once: the main flow and a signal handler may both ask for it.
let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= doCleanup();
  return cleanupPromise;
}

async function doCleanup() {
  const browser = state.browser;
  state.browser = null;
  if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  await stopServer();
  if (state.root) {
    removeTempRoot(state.root);
    state.root = null;
  }
}

// Last resort when the process dies some other way: never leave the server's group behind.
process.on('exit', () => {
  if (state.server) try { process.kill(-state.server.pid, 'SIGKILL'); } catch { /* gone */ }
});
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`[host] ${sig}: stopping code-server and chromium`);
    cleanup().finally(() => process.exit(130));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withDeadline(promise, what) {
  const left = deadline - Date.now();
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${what} timed out (whole run limit ${secs(overallTimeoutMs)}; set XAI_LENS_HOST_TIMEOUT_MS)`)), Math.max(0, left));
    }),
  ]).finally(() => clearTimeout(timer));
}
class TimeoutError extends Error {}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function printDiagnostics() {
  if (state.logFile) console.log(`[host] last lines of the code-server log:\n${tail(state.logFile)}`);
  if (consoleTail.length) console.log(`[host] last browser console lines:\n${consoleTail.join('\n')}`);
}

async function startServer(root, workspace, resultFile) {
  const port = await freePort();
  const userData = join(root, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'workbench.enableExperiments': false,
    'workbench.tips.enabled': false,
    'git.enabled': false,
    'github.gitAuthentication': false,
    'chat.disableAIFeatures': true,
  }, null, 2));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE'));
  Object.assign(env, {
    XDG_CONFIG_HOME: join(root, 'xdg', 'config'),
    XDG_DATA_HOME: join(root, 'xdg', 'data'),
    XDG_CACHE_HOME: join(root, 'xdg', 'cache'),
    XDG_STATE_HOME: join(root, 'xdg', 'state'),
    TMPDIR: join(root, 'tmp'), // the hosts' IPC sockets and temp files go away with the temporary folder
    PATH: `${join(vscodeTest, 'node24', 'bin')}:${process.env.PATH ?? ''}`,
    XAI_LENS_TEST_RESULT: resultFile, // inherited by the extension host, read by test/integration/index.ts
  });
  // The test-only debugpy debugger type (the Python extension cannot be installed offline), installed by copying it
  // into the fresh extensions folder (the server loads a single development extension).
  if (existsSync(debugpyTestExtension)) cpSync(debugpyTestExtension, join(root, 'extensions', 'xai-lens-test.xai-lens-test-debugpy-0.0.1'), { recursive: true });
  if (vsix) installVsix(vsix, join(root, 'extensions'));
  state.logFile = join(root, 'code-server.log');
  const fd = openSync(state.logFile, 'a');
  const args = [
    codeServerEntry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--user-data-dir', userData, '--extensions-dir', join(root, 'extensions'),
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--ignore-last-opened', '--vscode-option', 'enable-smoke-test-driver', workspace,
  ];
  const child = spawn(node24, args, { cwd: root, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  state.server = child;
  child.on('exit', (code, signal) => {
    state.serverExited = true;
    if (state.server === child) log(`code-server exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  const started = Date.now();
  for (;;) {
    if (state.serverExited) throw new Error('code-server exited during start-up');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() - started > 60_000) throw new Error('code-server did not answer /healthz within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`code-server ${JSON.parse(readFileSync(join(vscodeTest, 'code-server', 'node_modules', 'code-server', 'package.json'), 'utf8')).version} ready on 127.0.0.1:${port} in ${secs(Date.now() - started)}`);
  return port;
}

/** Unpacks a .vsix (a zip whose extension/ folder is the extension) where VS Code keeps installed extensions. */
function installVsix(file, extensionsDir) {
  const files = unzipSync(readFileSync(file));
  const manifest = JSON.parse(strFromU8(files['extension/package.json']));
  const dir = join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  for (const [name, bytes] of Object.entries(files)) {
    if (!name.startsWith('extension/') || name.endsWith('/')) continue;
    const target = join(dir, name.slice('extension/'.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
  log(`installed ${basename(file)} into the fresh profile (${Object.keys(files).length} entries)`);
}

function workbenchUrl(port, workspace, withTests) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = vsix ? [] : [['extensionDevelopmentPath', remote(repoRoot)]];
  if (withTests) payload.push(['extensionTestsPath', remote(testIndex)]);
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    const line = `[browser:${m.type()}] ${m.text()}`;
    if (verbose) console.log(line);
    consoleTail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
    if (consoleTail.length > 60) consoleTail.shift();
  });
  page.on('pageerror', (e) => {
    const line = `[browser:pageerror] ${e.message}`;
    if (verbose) console.log(line);
    consoleTail.push(line);
  });
  return { context, page };
}

/** Extension tests: mocha inside the extension host; returns the test records. */
async function runExtensionTests(browser, port, workspace, resultFile) {
  const { context, page } = await newPage(browser);
  let onExit;
  const exited = new Promise((r) => { onExit = r; });
  await page.exposeFunction('codeAutomationExit', (code) => onExit(Number(code)));
  const started = Date.now();
  await page.goto(workbenchUrl(port, workspace, true), { waitUntil: 'domcontentloaded', timeout: 60_000 });
  log('workbench opened; running the extension tests');
  const code = await withDeadline(exited, 'the extension tests');
  log(`extension tests finished with exit code ${code} in ${secs(Date.now() - started)}`);
  await context.close().catch(() => {});
  const result = readResult(resultFile);
  if (!result) {
    printDiagnostics();
    return [{ title: 'extension tests', state: 'failed', error: `the test index wrote no result file (exit code ${code}); rerun with --verbose` }];
  }
  const tests = [...result.tests];
  if (code !== 0 && !tests.some((t) => t.state === 'failed')) {
    tests.push({ title: 'extension tests', state: 'failed', error: `the extension host reported exit code ${code}` });
  }
  return tests;
}

/** UI tests: each test/ui/NAME.ui.mjs default-exports async ({ page, screenshot, ... }) => void, on a fresh workbench. */
async function runUiTests(browser, port, workspace) {
  const files = existsSync(uiDir) ? readdirSync(uiDir).filter((f) => f.endsWith('.ui.mjs')).sort() : [];
  const tests = [];
  if (files.length === 0) return tests;
  mkdirSync(artifactsDir, { recursive: true });
  for (const f of files) {
    const name = basename(f, '.ui.mjs');
    const title = `UI: ${name}`;
    const started = Date.now();
    const { context, page } = await newPage(browser);
    page.setDefaultTimeout(Math.min(uiTimeoutMs, 60_000));
    const screenshot = async (shot = name) => {
      const file = join(artifactsDir, `${shot}.png`);
      await page.screenshot({ path: file });
      log(`screenshot ${file.slice(repoRoot.length + 1)}`);
      return file;
    };
    try {
      const mod = await import(pathToFileURL(join(uiDir, f)).href);
      if (typeof mod.default !== 'function') throw new Error(`${f} has no default export function`);
      await page.goto(workbenchUrl(port, workspace, false), { waitUntil: 'domcontentloaded', timeout: 60_000 });
      const limit = Math.min(uiTimeoutMs, deadline - Date.now());
      let timer;
      await Promise.race([
        mod.default({ page, name, url: page.url(), workspace, repoRoot, artifactsDir, screenshot, log: (m) => log(`${name}: ${m}`) }),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${secs(limit)} (XAI_LENS_UI_TIMEOUT_MS)`)), limit); }),
      ]).finally(() => clearTimeout(timer));
      tests.push({ title, state: 'passed', durationMs: Date.now() - started });
      console.log(`[ui] PASS ${name} (${secs(Date.now() - started)})`);
    } catch (e) {
      await screenshot(`${name}-failure`).catch(() => {});
      tests.push({ title, state: 'failed', durationMs: Date.now() - started, error: e?.stack ?? String(e) });
      console.log(`[ui] FAIL ${name}: ${String(e?.message ?? e).split('\n')[0]}`);
    } finally {
      await context.close().catch(() => {});
    }
  }
  return tests;
}

let tests = [];
try {
  const { root, workspace } = makeTempRoot('xai-lens-host-');
  state.root = root;
  mkdirSync(join(root, 'tmp'));
  const resultFile = join(root, 'result.json');
  const port = await withDeadline(startServer(root, workspace, resultFile), 'starting code-server');
  state.browser = await withDeadline(
    chromium.launch({
      executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // our handlers stop everything, in order
      env: { ...process.env, TMPDIR: join(root, 'tmp') },
    }),
    'launching chromium',
  );
  if (!uiOnly) tests.push(...(await runExtensionTests(state.browser, port, workspace, resultFile)));
  if (runUi) tests.push(...(await runUiTests(state.browser, port, workspace)));
  if (verbose && state.logFile) console.log(`[host] code-server log:\n${tail(state.logFile, 400)}`);
} catch (e) {
  const message = e instanceof TimeoutError ? e.message : `${e?.message ?? e}`;
  console.log(`[host] error: ${message}`);
  printDiagnostics();
  tests.push({ title: 'test run', state: 'failed', error: message });
} finally {
  await cleanup();
}

if (interrupted) process.exit(130);
console.log(`[host] ${tests.length} test(s) in ${secs(Date.now() - t0)}:`);
const { passed, failed: failedTests } = printTests(tests);
let failed = failedTests;
if (passed + failed === 0) {
  console.log('  FAIL  no tests ran');
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
