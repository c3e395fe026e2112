// UI test: run the tasks.json entry "xai-lens: dashboard demo" (a 4-epoch training on a tiny generated folder) from
// "Tasks: Run Task"; the training dashboard opens beside the editor, draws its curves and finishes; a screenshot of
// the workbench is saved as test-artifacts/ui/dashboard.png. Contract: see explain.ui.mjs.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

async function palette(page, text) {
  const input = page.locator('.quick-input-widget input.input');
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
}

export default async function ({ page, workspace, repoRoot, screenshot, log }) {
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(workspace, 'tiny-digits', String(d)), { recursive: true });
    for (const k of ['a', 'b', 'c']) copyFileSync(join(repoRoot, 'media', 'samples', `digit-${d}.png`), join(workspace, 'tiny-digits', String(d), `${k}.png`));
  }
  await page.locator('.monaco-workbench').waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit.png' }).first().waitFor();
  const taskRow = page.locator('.quick-input-list .monaco-list-row', { hasText: 'xai-lens: dashboard demo' }).first();
  const until = Date.now() + 60_000;
  for (;;) {
    await palette(page, '>Tasks: Run Task');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Tasks: Run Task' }).first().waitFor();
    await page.keyboard.press('Enter');
    try {
      await taskRow.waitFor({ timeout: 5000 });
      break;
    } catch (e) {
      if (Date.now() > until) throw new Error('the tasks.json entry never appeared in Run Task', { cause: e });
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  await taskRow.click();
  log('started "xai-lens: dashboard demo"');
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await frame.locator('text=Loss').first().waitFor({ timeout: 60_000 });
  log('the dashboard opened');
  await frame.locator('text=finished').first().waitFor({ timeout: 150_000 });
  const charts = await frame.locator('.uplot canvas').count();
  if (charts < 3) throw new Error(`expected 3 uPlot charts, found ${charts}`);
  const epochLine = await frame.locator('text=/Epoch 4\\/4/').count();
  if (!epochLine) throw new Error('the dashboard does not say "Epoch 4/4"');
  log(`dashboard finished with ${charts} charts`);
  await page.waitForTimeout(800);
  await screenshot();
}
