// Shared by the latency scripts (not a UI script itself: its name does not end in .ui.mjs).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFromExplorer } from '../../test/ui/explorer.mjs';

export function explainFromExplorer(page, file) {
  return runFromExplorer(page, file, 'Explain with CBAM-MobileNetV2');
}

/**
 * Polls every frame every `everyMs` until `shows(frame)` holds for one of them; returns the time. Throws `what` after
 * 120 s.
 */
export async function untilFrame(page, shows, what, everyMs = 25) {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    for (const frame of page.frames()) {
      try {
        if (await shows(frame)) return Date.now();
      } catch {
        // a frame that navigated away meanwhile
      }
    }
    await page.waitForTimeout(everyMs);
  }
  throw new Error(`${what} within 120 s`);
}

/** The time at which a webview frame showing `file` has its Grad-CAM tile's canvas. */
export function firstOverlay(page, file) {
  return untilFrame(
    page,
    async (f) => (await f.locator('h1', { hasText: file }).count()) && (await f.locator('.overlay-tile[data-method="gradcam"] canvas').count()),
    `no overlay for ${file}`,
  );
}

/**
 * The host's side of a webview's first load, from VS Code's own performance marks in the webview's outer frame
 * (pre/index.html): when it got the content, when its service worker took control (first webview of a browser
 * profile: registration, then `controllerchange`), and when it wrote the inner document. Milliseconds after `t0`.
 */
export async function hostWebviewMarks(page, t0) {
  const parts = {};
  for (const f of page.frames()) {
    if (!/\/pre\/index\.html/.test(f.url())) continue;
    const marks = await f.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, performance.timeOrigin + m.startTime])).catch(() => []);
    for (const [name, at] of marks) {
      const key = { 'webview/index.html/content/started': 'content_received_ms', 'webview/index.html/content/workerReady': 'service_worker_ready_ms', 'webview/index.html/content/wroteInnerContent': 'document_written_ms' }[name];
      if (key && parts[key] === undefined) parts[key] = Math.round(at - t0);
    }
  }
  return parts;
}

/** The extension's start-up timeline (XAI_LENS_TIMELINE_FILE), written when its first overlay painted. */
export async function startupTimeline(page) {
  const file = process.env.XAI_LENS_TIMELINE_FILE;
  for (let i = 0; file && i < 100; i++) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    await page.waitForTimeout(100);
  }
  return undefined;
}

export function forgetStartupTimeline() {
  if (process.env.XAI_LENS_TIMELINE_FILE) rmSync(process.env.XAI_LENS_TIMELINE_FILE, { force: true });
}

/** Merges `fields` into test-artifacts/latency.json (each latency script adds its own). */
export function recordLatency(repoRoot, fields) {
  const file = join(repoRoot, 'test-artifacts', 'latency.json');
  const before = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const result = { ...before, ...fields };
  writeFileSync(file, JSON.stringify(result) + '\n');
  return result;
}
