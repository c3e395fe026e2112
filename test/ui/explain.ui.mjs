// UI test, driven by scripts/vscode-host/run-code-server.mjs: it loads every test/ui/*.ui.mjs into a fresh workbench
// (code-server + chromium) with the extension under development and a copy of test/fixtures/workspace/. A thrown error
// fails the test and saves test-artifacts/ui/<name>-failure.png.
//
// Contract: `export default async function ({ page, name, workspace, repoRoot, artifactsDir, screenshot, log })`;
// `page` is a Playwright Page on the workbench, `screenshot(shot = name)` writes test-artifacts/ui/<shot>.png.
//
// For now: run xaiLens.showModelInfo ("XAI Lens: <its title in package.json>") from the command palette and check what
// it shows — the model-card.json editor tab, or, while the default model has not been trained yet, the error
// notification. It will grow into the explain-panel test (right-click digit.png → explain → read the webview:
// iframe.webview.ready, then iframe#active-frame).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const COMMAND = 'xaiLens.showModelInfo';

function commandTitle(repoRoot, id) {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const c = manifest.contributes?.commands?.find((x) => x.command === id);
  if (!c) throw new Error(`${id} is not contributed in package.json`);
  return c.category ? `${c.category}: ${c.title}` : c.title;
}

// The palette lists a command only once the extension host has registered the extension's contributions, and an
// open palette does not refresh its list: reopen it until the command shows up.
async function runFromPalette(page, title, log, timeoutMs = 60_000) {
  const input = page.locator('.quick-input-widget input.input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  const until = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (Date.now() > until) throw new Error(`"${title}" never appeared in the command palette`, { cause: e });
      if (attempt === 1) log(`waiting for "${title}" to appear in the command palette`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  await page.keyboard.press('Enter');
}

// Toasts do not always show in this headless workbench, and the notification arrives only once the extension has
// activated; the notification centre (the bell in the status bar) lists every notification, so keep it open.
async function waitForNotification(page, text, timeoutMs = 60_000) {
  const center = page.locator('.notifications-center');
  const item = page.locator('.notification-toast, .notifications-center .notification-list-item', { hasText: text }).first();
  const until = Date.now() + timeoutMs;
  while (!(await item.isVisible())) {
    if (Date.now() > until) throw new Error(`no notification "${text}" within ${timeoutMs / 1000} s`);
    if (!(await center.isVisible())) await page.locator('[id="status.notifications"] a, [id="status.notifications"]').first().click();
    await page.waitForTimeout(1000);
  }
}

export default async function ({ page, repoRoot, screenshot, log }) {
  const title = commandTitle(repoRoot, COMMAND);
  // The workbench is ready once the explorer lists the fixture workspace.
  await page.locator('.monaco-workbench').waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit.png' }).first().waitFor();

  await runFromPalette(page, title, log);

  // With a fresh user-data folder the active model is the bundled one (unless xaiLens.defaultModel is set).
  const cardExists = existsSync(join(repoRoot, 'media', 'models', 'cbam-mobilenetv2-mnist', 'model-card.json'));
  if (cardExists) {
    await page.locator('.tabs-container .tab', { hasText: 'model-card.json' }).first().waitFor();
    log('the model-card.json editor tab is open');
  } else {
    await waitForNotification(page, 'XAI Lens: cannot open');
    log('model-card.json is not there yet: the command reported it in an error notification');
  }
  await screenshot();
}
