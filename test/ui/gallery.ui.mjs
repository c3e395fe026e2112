// UI test: right-click a folder of digits in the explorer → "Explain Folder with XAI Lens" → the gallery fills with a
// thumbnail per image (Grad-CAM overlay, class, confidence); filtering by a class keeps only that class; a click on a
// thumbnail opens the explain panel. Screenshot: test-artifacts/ui/gallery.png. Contract: see explain.ui.mjs.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runFromExplorer } from './explorer.mjs';

export default async function ({ page, workspace, repoRoot, screenshot, log }) {
  const dir = join(workspace, 'digits');
  mkdirSync(dir, { recursive: true });
  for (let d = 0; d < 10; d++) copyFileSync(join(repoRoot, 'media', 'samples', `digit-${d}.png`), join(dir, `digit-${d}.png`));
  await page.locator('.monaco-workbench').waitFor();
  await runFromExplorer(page, 'digits', 'Explain Folder with XAI Lens');
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await frame.locator('main[aria-busy="false"] .card').nth(9).waitFor({ timeout: 100_000 });
  const cards = await frame.locator('.card').count();
  if (cards !== 10) throw new Error(`expected 10 thumbnails, found ${cards}`);
  const first = await frame.locator('.card').first().innerText();
  if (!/digit-0\.png\s+0\s+\d+\.\d\d %/.test(first)) throw new Error(`the first card reads "${first}"`);
  log(`10 thumbnails; the first reads ${JSON.stringify(first)}`);
  await page.waitForTimeout(300);
  await screenshot();
  // Open one: the explain panel shows it.
  await frame.locator('.card[data-file="digit-3.png"]').click();
  await page.locator('.tabs-container .tab', { hasText: 'digit-3.png' }).first().waitFor({ timeout: 30_000 });
  log('a click opened digit-3.png in the explain panel');
}
