// UI test: the explain panel's layout in the real workbench, in the light, dark and high-contrast themes, wide and
// narrow (about 300 px). The prediction is at the top, then the toolbar, then the overlays in a grid of 1-4 columns
// that fits the panel (no horizontal scrolling); hovering a tile shows the attribution value under the cursor; a click
// enlarges it beside the original; the metrics table sorts by a clicked column. Screenshots of the panel:
// test-artifacts/ui/layout-<theme>-<wide|narrow>.png. Contract: see explain.ui.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFromExplorer } from './explorer.mjs';

const THEMES = [
  ['light', 'Light Modern', 'vs'],
  ['dark', 'Dark Modern', 'vs-dark'],
  ['hc', 'Default High Contrast', 'hc-black'],
];

/** Facts about the panel's page, read inside the webview frame. */
async function measure(frame) {
  return frame.locator('main').evaluate((main) => {
    const doc = main.ownerDocument;
    doc.defaultView.scrollTo(0, 0);
    const tiles = doc.querySelector('.tiles');
    const prediction = doc.querySelector('.prediction');
    const firstTile = doc.querySelector('.overlay-tile');
    return {
      width: doc.documentElement.clientWidth,
      overflow: doc.documentElement.scrollWidth - doc.documentElement.clientWidth,
      columns: tiles ? getComputedStyle(tiles).gridTemplateColumns.split(' ').length : 0,
      predictionTop: prediction?.getBoundingClientRect().top ?? -1,
      tilesTop: tiles?.getBoundingClientRect().top ?? -1,
      tileWidth: firstTile?.getBoundingClientRect().width ?? 0,
      themeKind: doc.body.getAttribute('data-vscode-theme-kind'),
      background: getComputedStyle(doc.body).backgroundColor,
      // The innermost elements that stick out on the right, to name the culprit when the page scrolls sideways.
      wide: [...doc.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > doc.documentElement.clientWidth + 1)
        .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > doc.documentElement.clientWidth + 1))
        .slice(0, 5)
        .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${Math.round(e.getBoundingClientRect().right)}`),
    };
  });
}

/** Workspace settings: every method, with small sample counts (the layout is under test, not the methods). */
function writeSettings(workspace, extra = {}) {
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  const settings = { 'xaiLens.explainer.lime.samples': 150, 'xaiLens.explainer.smoothgrad.samples': 8, 'xaiLens.explainer.ig.steps': 8, ...extra };
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings));
}

export default async function ({ page, workspace, artifactsDir, log }) {
  writeSettings(workspace);
  await page.locator('.monaco-workbench').waitFor();
  await runFromExplorer(page, 'digit.png', 'Explain with CBAM-MobileNetV2');
  const frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await frame.locator('main[aria-busy="false"] .metrics').waitFor({ timeout: 120_000 });
  const webview = page.locator('iframe.webview.ready').first();

  // Hover: the caption of the first tile shows "(x, y): value".
  const firstCanvas = frame.locator('.overlay-tile canvas').first();
  const box = await firstCanvas.boundingBox();
  await firstCanvas.hover({ position: { x: box.width / 2, y: box.height / 2 } });
  const hoverText = await frame.locator('.overlay-tile figcaption .meta').first().innerText();
  if (!/^\(1[34], 1[34]\): -?\d+\.\d{4}$/.test(hoverText.trim())) throw new Error(`hovering the middle of a 28×28 map shows "${hoverText}"`);
  log(`hover shows ${hoverText.trim()}`);

  // Click: the tile enlarges beside the original; Escape closes it.
  await frame.locator('.overlay-tile button.zoom').first().click();
  const dialog = frame.locator('dialog.zoom-dialog[open]');
  await dialog.waitFor();
  if ((await dialog.locator('canvas').count()) !== 2) throw new Error('the enlarged view shows the original and the overlay');
  await page.waitForTimeout(300);
  mkdirSync(artifactsDir, { recursive: true });
  await webview.screenshot({ path: join(artifactsDir, 'layout-zoom.png') });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // Sort: a click on "Clarity" sorts descending (best first) and marks the column.
  await frame.locator('button.sort[data-column="clarity"]').click();
  const sortAttr = await frame.locator('th:has(button.sort[data-column="clarity"])').getAttribute('aria-sort');
  if (sortAttr !== 'descending') throw new Error(`clarity column aria-sort is ${sortAttr}`);
  const clarity = await frame.locator('.metrics tbody tr td:last-child').allInnerTexts();
  const values = clarity.map(Number).filter(Number.isFinite);
  if (values.some((v, i) => i > 0 && v > values[i - 1])) throw new Error(`clarity not sorted descending: ${clarity.join(', ')}`);

  const facts = {};
  for (const [id, theme, kind] of THEMES) {
    writeSettings(workspace, { 'workbench.colorTheme': theme });
    await page.waitForFunction((k) => document.querySelector('.monaco-workbench')?.classList.contains(k), kind, { timeout: 30_000 });
    for (const size of ['wide', 'narrow']) {
      // Wide: a 1920 px window (the panel gets about 800 px). Narrow: the window is sized until the panel is ~300 px.
      let windowWidth = size === 'wide' ? 1920 : 1000;
      let m;
      for (let attempt = 0; attempt < 4; attempt++) {
        await page.setViewportSize({ width: windowWidth, height: 1000 });
        await page.waitForTimeout(800);
        m = await measure(frame);
        if (size === 'wide' || (m.width >= 290 && m.width <= 330)) break;
        windowWidth += 2 * (305 - m.width);
      }
      facts[`${id}-${size}`] = m;
      log(`${id} ${size}: ${JSON.stringify(m)}`);
      if (m.columns < 1 || m.columns > 4) throw new Error(`${id} ${size}: ${m.columns} overlay columns`);
      if (m.overflow > 1) throw new Error(`${id} ${size}: the panel scrolls sideways by ${m.overflow} px at ${m.width} px (${m.wide.join(', ')})`);
      if (!(m.predictionTop >= 0 && m.predictionTop < m.tilesTop)) throw new Error(`${id} ${size}: the prediction is not above the overlays`);
      // VS Code keeps the sidebar's width, so the panel only gets near 300 px; anything from 240 to 340 px serves.
      if (size === 'narrow' && (m.width < 240 || m.width > 340)) throw new Error(`the narrow panel is ${m.width} px wide`);
      if (size === 'wide' && m.columns !== 4) throw new Error(`${id} wide (${m.width} px): ${m.columns} columns, want 4`);
      await webview.screenshot({ path: join(artifactsDir, `layout-${id}-${size}.png`) });
    }
  }
  const backgrounds = new Set(THEMES.map(([id]) => facts[`${id}-wide`].background));
  if (backgrounds.size !== 3) throw new Error(`the panel does not follow the theme: backgrounds ${[...backgrounds].join(', ')}`);
  writeFileSync(join(artifactsDir, 'layout.json'), JSON.stringify(facts, null, 2));
}
