// Latency benchmark, second part (not a test: it asserts nothing about time). In a fresh browser profile, the host's
// first webview of any extension waits for the webview service worker to take control (latency.ui.mjs's cold_host
// shows it). Here a built-in Markdown preview is that first webview, timed the same way; then, with XAI Lens still
// not activated in this window (a new extension host, so a new engine process), the first "Explain with
// CBAM-MobileNetV2" is timed from click to first overlay. Adds host_first_webview_* and cold_primed_* to
// test-artifacts/latency.json.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainFromExplorer, firstOverlay, forgetStartupTimeline, hostWebviewMarks, recordLatency, startupTimeline, untilFrame } from './latencyCommon.mjs';

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  const at = Date.now();
  await page.keyboard.press('Enter');
  return at;
}

export default async function ({ page, workspace, repoRoot, log }) {
  writeFileSync(join(workspace, 'notes.md'), '# Markdown heading\n\nThe host\'s first webview.\n');
  copyFileSync(join(workspace, 'digit.png'), join(workspace, 'digit-primed.png'));
  await page.locator('.monaco-workbench').waitFor();
  const md = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'notes.md' }).first();
  await md.waitFor({ timeout: 60_000 });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit-primed.png' }).first().waitFor({ timeout: 60_000 });
  await md.click();
  // The preview commands show only while a Markdown editor has focus (an empty editor group may hold it otherwise).
  await page.locator('.monaco-editor .view-lines', { hasText: 'Markdown heading' }).first().click();

  const tMd = await runCommand(page, 'Markdown: Open Preview to the Side');
  const shownAt = await untilFrame(page, async (f) => (await f.locator('h1', { hasText: 'Markdown heading' }).count()) > 0, 'the Markdown preview did not show');
  const mdHost = await hostWebviewMarks(page, tMd);
  log(`the host's first webview (Markdown preview): ${shownAt - tMd} ms ${JSON.stringify(mdHost)}`);
  await runCommand(page, 'View: Close All Editors');
  await page.waitForTimeout(1000);

  forgetStartupTimeline();
  const t0 = await explainFromExplorer(page, 'digit-primed.png');
  const cold = (await firstOverlay(page, 'digit-primed.png')) - t0;
  const coldHost = await hostWebviewMarks(page, t0);
  const coldParts = await startupTimeline(page);
  log(`cold after the host's first webview: ${cold} ms ${JSON.stringify(coldHost)} ${JSON.stringify(coldParts)}`);
  recordLatency(repoRoot, {
    host_first_webview_ms: shownAt - tMd, host_first_webview: mdHost,
    cold_primed_ms: cold, cold_primed_host: coldHost, cold_primed_parts: coldParts,
  });
}
