// Shared by UI scripts: run an explorer context-menu command on a file, robustly.
//  - The menu lists the extension's commands only once its contributions are registered: retry the right-click.
//  - Menus stay in the DOM after closing: find the open item by its role.
//  - The workbench ignores a click that lands right after a context menu opens: wait a moment, and if the menu is
//    still open afterwards (the click was swallowed), click again.

/** Right-clicks `file` in the explorer and runs `command` from its context menu; returns the time of the click. */
export async function runFromExplorer(page, file, command, timeoutMs = 60_000) {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first();
  await row.waitFor({ timeout: timeoutMs });
  const item = page.getByRole('menuitem', { name: command });
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (Date.now() > until) throw new Error(`could not run "${command}" on ${file} from the explorer context menu`);
    if (!(await item.isVisible())) {
      await row.click({ button: 'right' });
      try {
        await item.waitFor({ timeout: 3000 });
      } catch {
        await page.keyboard.press('Escape');
        await page.waitForTimeout(1000);
        continue;
      }
    }
    await page.waitForTimeout(400);
    const clickedAt = Date.now();
    await item.click();
    try {
      await item.waitFor({ state: 'hidden', timeout: 2000 });
      return clickedAt;
    } catch {
      // the click was swallowed; the menu is still open: try again
    }
  }
}
