// Latency benchmark in the real host (not a test: it asserts nothing about time): command → first overlay painted.
// Cold: the first "Explain with CBAM-MobileNetV2" of the session (engine process start, backend, model load, webview).
// Warm: the same command on another image afterwards (engine and model warm, a new panel). Median of the warm runs.
// Writes test-artifacts/latency.json. Run: npm run bench:latency
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFromExplorer } from '../../test/ui/explorer.mjs';

function explainFromExplorer(page, file) {
  return runFromExplorer(page, file, 'Explain with CBAM-MobileNetV2');
}

/** Waits until the panel of `file` has finished everything (counterfactual included), so runs do not queue. */
async function finished(page, file) {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      try {
        if ((await frame.locator('h1', { hasText: file }).count()) && (await frame.locator('main[aria-busy="false"]').count()) && (await frame.locator('text=Faithfulness metrics').count())) return;
      } catch {
        // a frame that navigated away meanwhile
      }
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`${file} did not finish within 120 s`);
}

/** Polls every webview frame until one that shows `file` has painted its Grad-CAM tile; returns the time. */
async function firstOverlay(page, file) {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      try {
        if ((await frame.locator('h1', { hasText: file }).count()) && (await frame.locator('text=Grad-CAM').count())) return Date.now();
      } catch {
        // a frame that navigated away meanwhile
      }
    }
    await page.waitForTimeout(25);
  }
  throw new Error(`no overlay for ${file} within 120 s`);
}

export default async function ({ page, workspace, repoRoot, log }) {
  const copies = ['digit-a.png', 'digit-b.png', 'digit-c.png'];
  for (const c of copies) copyFileSync(join(workspace, 'digit.png'), join(workspace, c));
  await page.locator('.monaco-workbench').waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit-c.png' }).first().waitFor({ timeout: 60_000 });
  const t0 = await explainFromExplorer(page, 'digit.png');
  const cold = (await firstOverlay(page, 'digit.png')) - t0;
  log(`cold: ${cold} ms`);
  await finished(page, 'digit.png');
  const warm = [];
  for (const c of copies) {
    const t = await explainFromExplorer(page, c);
    warm.push((await firstOverlay(page, c)) - t);
    log(`warm (${c}): ${warm[warm.length - 1]} ms`);
    await finished(page, c);
  }
  const sorted = [...warm].sort((a, b) => a - b);
  const result = { host: 'code-server 4.139.1 (VS Code 1.139.1), headless Chromium', cold_ms: cold, warm_ms: sorted[sorted.length >> 1], warm_runs_ms: warm };
  writeFileSync(join(repoRoot, 'test-artifacts', 'latency.json'), JSON.stringify(result) + '\n');
  log(JSON.stringify(result));
}
