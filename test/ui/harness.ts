// What the browser suites share: Chromium and how it is started, the built UI, a node's UI server
// and logging in. Each suite starts its own network (test/e2e/network.ts) once, before its tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { BUILT_UI_DIR, startUiServer, type UiServerOptions } from '../../ui-server/server.ts';
import { silent } from '../node/chain/helpers.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Waits in the browser: generous, the CI machine is shared. */
export const SEE_MS = 60_000;
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `npm test` builds the UI first; a single-file run builds it here if it is missing. */
export function ensureBuiltUi(): void {
  if (existsSync(join(BUILT_UI_DIR, 'index.html'))) return;
  execFileSync(
    process.execPath,
    [
      join(process.cwd(), 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'ui/vite.config.ts',
    ],
    { stdio: 'inherit' },
  );
}

/** Headless Chromium with a fresh temporary profile (removed when it closes). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The node's UI server on a free loopback port, serving the built UI, with `password`. */
export function serveUi(
  node: Parameters<typeof startUiServer>[0],
  password: string,
  options: Partial<UiServerOptions> = {},
) {
  return startUiServer(node, {
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    staticDir: BUILT_UI_DIR,
    password,
    ...options,
  });
}

/** Logs `page` in at `url`; the dashboard of `role` shows. */
export async function login(page: Page, url: string, password: string, role: string) {
  await page.goto(url);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('node-role').filter({ hasText: role }).waitFor();
}

/**
 * Call first in a browser suite's `describe`: without Chromium it registers why — a failure on CI
 * (.ci/run installs it), a skip elsewhere — and answers true, and the suite registers nothing else.
 */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) it('finds Chromium', () => assert.fail(`no Chromium at ${CHROMIUM}`));
  else it.skip(`needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  return true;
}

/** Chromium, closed by the cleanups. */
export async function launchBrowser(cleanups: (() => Promise<unknown>)[]): Promise<Browser> {
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  return browser;
}

/**
 * A page in a fresh context (its own cookies) logged in at `url`; script errors in the page go to
 * `errors` for the spec to fail on.
 */
export async function loggedIn(
  browser: Browser,
  url: string,
  password: string,
  errors: string[],
  viewport = { width: 1400, height: 1000 },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(SEE_MS);
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('node-role').waitFor();
  return page;
}

/** The row of a CFD in the positions tables, wherever it is. */
export const cfdRow = (page: Page, id: string) => page.locator(`[data-cfd-id="${id}"]`);

/** Waits until the CFD's row shows `state`. */
export const stateIs = (page: Page, id: string, state: string) =>
  cfdRow(page, id).locator(`[data-testid="cfd-state"][data-state="${state}"]`).waitFor();
