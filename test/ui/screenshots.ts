// Screenshots of the home pages for a look at the layout (`DLCFD_UI_SCREENSHOTS=dir`): what a user
// sees without scrolling on a laptop and on a phone, and the whole page.
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/** The viewports the home pages are saved at. */
export const SHOT_VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
] as const;

/**
 * Opens `url` (the home page: no position open in the address) in `page` at each of
 * {@link SHOT_VIEWPORTS} and saves `<name>-<w>x<h>.png` (the first screen) and
 * `<name>-<w>x<h>-full.png` (the whole page) into `dir`. The page's own viewport is restored.
 */
export async function saveHomeShots(page: Page, url: string, dir: string, name: string) {
  const before = page.viewportSize();
  for (const v of SHOT_VIEWPORTS) {
    await page.setViewportSize(v);
    await page.goto(url);
    await page
      .getByTestId('connection')
      .filter({ hasText: /^live$/ })
      .waitFor();
    await page.getByTestId('wallet-panel').waitFor();
    await page.getByTestId('positions-panel').getByTestId('loading').waitFor({ state: 'detached' });
    const base = join(dir, `${name}-${v.width}x${v.height}`);
    await page.screenshot({ path: `${base}.png` });
    await page.screenshot({ path: `${base}-full.png`, fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}
