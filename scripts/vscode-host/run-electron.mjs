#!/usr/bin/env node
// Runs the integration tests in desktop VS Code through @vscode/test-electron: the same suite as run-code-server.mjs
// (out/test/integration/index.js, built by node esbuild.mjs --integration), on machines that have VS Code or can
// download it. It cannot download here (offline); CI uses run-code-server.mjs.
//
//   VSCODE_EXECUTABLE=/path/to/code node scripts/vscode-host/run-electron.mjs   a local VS Code (no download)
//   VSCODE_VERSION=1.95.0 node scripts/vscode-host/run-electron.mjs             download that version to .vscode-test/
//                                                                               (default: stable)
// On Linux without a display, run it under `xvfb-run -a`. The last line printed is `N passed, N failed`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkBuilt, fail, makeTempRoot, printTests, readResult, removeTempRoot, repoRoot, testIndex } from './common.mjs';

checkBuilt();
let download, runTests;
try {
  ({ download, runTests } = await import('@vscode/test-electron'));
} catch {
  fail('@vscode/test-electron is not installed: run npm ci');
}

// A few lines instead of a progress bar; nothing before a failure but the error itself.
function quietReporter() {
  let downloading = false;
  return {
    report(r) {
      if (r.stage === 'resolvedVersion') console.log(`[electron] VS Code ${r.version}`);
      else if (r.stage === 'foundMatchingInstall') console.log(`[electron] using ${r.downloadedPath}`);
      else if (r.stage === 'downloading' && !downloading) {
        downloading = true;
        console.log(`[electron] downloading ${r.url}`);
      } else if (r.stage === 'newInstallComplete') console.log(`[electron] installed in ${r.downloadedPath}`);
    },
    error() {},
    dispose() {},
  };
}

let executable = process.env.VSCODE_EXECUTABLE;
const version = process.env.VSCODE_VERSION || 'stable';
if (executable) {
  if (!existsSync(executable)) fail(`VSCODE_EXECUTABLE=${executable} does not exist`);
} else {
  try {
    executable = await download({ version, cachePath: join(repoRoot, '.vscode-test'), timeout: 20_000, reporter: quietReporter() });
  } catch (e) {
    fail(
      `cannot download VS Code ${version} (${String(e?.message ?? e).split('\n')[0]}): set VSCODE_EXECUTABLE to a local ` +
        'VS Code binary, or run the code-server launcher (npm run test:integration)',
    );
  }
}
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  console.log('[electron] no DISPLAY: if VS Code fails to start, run this under xvfb-run -a');
}

const { root, workspace } = makeTempRoot('xai-lens-electron-');
const resultFile = join(root, 'result.json');
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    removeTempRoot(root);
    process.exit(130);
  });
}

let exitCode;
const t0 = Date.now();
try {
  console.log(`[electron] running the integration tests in ${executable}`);
  exitCode = await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: testIndex,
    extensionTestsEnv: { XAI_LENS_TEST_RESULT: resultFile },
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
} catch (e) {
  // runTests rejects on a non-zero exit (failed tests included); the result file tells which.
  exitCode = e?.code ?? 1;
  if (!existsSync(resultFile)) console.log(`[electron] VS Code failed: ${e?.message ?? e}`);
}

const result = readResult(resultFile);
removeTempRoot(root);
const tests = result?.tests ?? [];
if (!result) tests.push({ title: 'extension tests', state: 'failed', error: `no result file (VS Code exit code ${exitCode})` });
else if (exitCode !== 0 && !tests.some((t) => t.state === 'failed')) {
  tests.push({ title: 'extension tests', state: 'failed', error: `VS Code exited with code ${exitCode}` });
}
console.log(`[electron] ${tests.length} test(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s:`);
const { passed, failed } = printTests(tests);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
