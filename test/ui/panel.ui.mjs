// UI test: right-click digit.png in the explorer → "Explain with CBAM-MobileNetV2" → the explain panel renders the
// prediction and one overlay per method; a screenshot of the workbench is saved as test-artifacts/ui/panel.png.
// Contract: see explain.ui.mjs.
import { runFromExplorer } from './explorer.mjs';

export default async function ({ page, screenshot, log }) {
  await page.locator('.monaco-workbench').waitFor();
  await runFromExplorer(page, 'digit.png', 'Explain with CBAM-MobileNetV2');
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
