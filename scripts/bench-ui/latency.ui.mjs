// Latency benchmark in the real host (not a test: it asserts nothing about time): command → first overlay painted.
// Cold: the first "Explain with CBAM-MobileNetV2" of the session (engine process start, backend, model load, webview).
// Warm: the same command on another image afterwards (engine and model warm, a new panel). Median of the warm runs.
// Rapid: five more digits right-clicked in quick succession, each as soon as the previous one's first overlay is on
// screen (the earlier ones' remaining methods still running): click → first overlay for each.
// Where the cold run's time went comes from the extension's start-up timeline (XAI_LENS_TIMELINE_FILE) and the
// host's own marks in the webview frame (cold_host). primed-cold.ui.mjs runs after it in a fresh profile.
// Writes test-artifacts/latency.json. Run: npm run bench:latency (the repository as the development extension), or
// npm run bench:latency:vsix (the linux-x64 .vsix installed into the fresh profile).
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainFromExplorer, firstOverlay, hostWebviewMarks, recordLatency, startupTimeline, untilFrame } from './latencyCommon.mjs';

/** Waits until the panel of `file` has finished everything (counterfactual included), so runs do not queue. */
function finished(page, file) {
  return untilFrame(
    page,
    async (f) => (await f.locator('h1', { hasText: file }).count()) && (await f.locator('main[aria-busy="false"]').count()) && (await f.locator('text=Faithfulness metrics').count()),
    `${file} did not finish`,
    100,
  );
}

export default async function ({ page, workspace, repoRoot, log }) {
  const copies = ['digit-a.png', 'digit-b.png', 'digit-c.png'];
  const rapid = ['digit-r1.png', 'digit-r2.png', 'digit-r3.png', 'digit-r4.png', 'digit-r5.png'];
  for (const c of [...copies, ...rapid]) copyFileSync(join(workspace, 'digit.png'), join(workspace, c));
  await page.locator('.monaco-workbench').waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit-r5.png' }).first().waitFor({ timeout: 60_000 });
  const t0 = await explainFromExplorer(page, 'digit.png');
  const cold = (await firstOverlay(page, 'digit.png')) - t0;
  log(`cold: ${cold} ms`);
  const coldHost = await hostWebviewMarks(page, t0);
  log(`cold, the host's webview (ms after the click): ${JSON.stringify(coldHost)}`);
  const coldParts = await startupTimeline(page);
  log(`cold, where the time went: ${JSON.stringify(coldParts)}`);
  await finished(page, 'digit.png');
  const warm = [];
  for (const c of copies) {
    const t = await explainFromExplorer(page, c);
    warm.push((await firstOverlay(page, c)) - t);
    log(`warm (${c}): ${warm[warm.length - 1]} ms`);
    await finished(page, c);
  }
  const rapidMs = [];
  for (const c of rapid) {
    const t = await explainFromExplorer(page, c);
    rapidMs.push((await firstOverlay(page, c)) - t);
    log(`rapid (${c}): ${rapidMs[rapidMs.length - 1]} ms`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const result = recordLatency(repoRoot, {
    host: 'code-server 4.139.1 (VS Code 1.139.1), headless Chromium',
    extension: process.env.XAI_LENS_HOST_VSIX ? `installed from ${process.env.XAI_LENS_HOST_VSIX.split('/').pop()}` : 'development (the repository)',
    cold_ms: cold, cold_host: coldHost, cold_parts: coldParts, warm_ms: median(warm), warm_runs_ms: warm,
    rapid_ms: median(rapidMs), rapid_max_ms: Math.max(...rapidMs), rapid_runs_ms: rapidMs,
  });
  log(JSON.stringify(result));
}
