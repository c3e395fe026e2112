// UI test: right-click digit.png in the explorer → "Explain with CBAM-MobileNetV2" → the explain panel renders the
// prediction and one overlay per method; a screenshot of the workbench is saved as test-artifacts/ui/panel.png.
// Contract: see explain.ui.mjs.
export default async function ({ page, screenshot, log }) {
  await page.locator('.monaco-workbench').waitFor();
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digit.png' }).first();
  await row.waitFor();
  // The menu lists the command once the extension's contributions are registered; retry the right-click until then.
  const item = page.locator('.context-view .action-item, .monaco-menu .action-item', { hasText: 'Explain with CBAM-MobileNetV2' }).first();
  const until = Date.now() + 60_000;
  for (;;) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (Date.now() > until) throw new Error('"Explain with CBAM-MobileNetV2" never appeared in the explorer context menu', { cause: e });
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  await item.click();
  log('clicked "Explain with CBAM-MobileNetV2"');
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await frame.locator('text=Grad-CAM').first().waitFor({ timeout: 90_000 });
  for (const label of ['Grad-CAM++', 'Score-CAM', 'SmoothGrad', 'Integrated Gradients', 'LIME']) {
    await frame.locator(`text=${label}`).first().waitFor({ timeout: 90_000 });
  }
  await frame.locator('text=Prediction').first().waitFor();
  const canvases = await frame.locator('canvas').count();
  if (canvases < 9) throw new Error(`expected at least 9 canvases (input, 7 overlays, counterfactual), found ${canvases}`);
  log(`panel rendered with ${canvases} canvases`);
  await page.waitForTimeout(500);
  await screenshot();
}
