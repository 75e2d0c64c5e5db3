// The web UI in real headless Chromium against a real in-process network (embedded chain, price
// feed, oracle, a maker and a taker over libp2p), each node serving the built UI. The tests do
// what a user does — log in, take an offer, accept it as the maker, close it — and assert what the
// user sees; the chain is the only thing driven from here (mining the lock and the close).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { parsePrice } from '../../model/units.ts';
import { PriceFeedServer } from '../../node/pricefeed/server.ts';
import { BUILT_UI_DIR, startUiServer } from '../../ui-server/server.ts';
import { confirmAfterMempool, type Network, startNetwork, useCleanups } from '../e2e/network.ts';
import { silent } from '../node/chain/helpers.ts';
import { Cleanups, startNode, until } from '../ui-server/helpers.ts';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  chromiumMissing,
  ensureBuiltUi,
  login,
  SEE_MS,
} from './harness.ts';
import { saveHomeShots } from './screenshots.ts';

const TAKER_PASSWORD = 'taker-password-1';
const MAKER_PASSWORD = 'maker-password-1';
const ARGS = CHROMIUM_ARGS;

/**
 * A TCP relay in front of a UI server, so a test can make the node go away and come back as the
 * browser sees it: `down()` cuts every connection (the live stream included) and refuses new ones,
 * `up()` lets them through again. The node, its sessions and its feed keep running behind it.
 */
async function relay(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let isDown = false;
  const server = createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    down(): void {
      isDown = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    up(): void {
      isDown = false;
    },
    close(): Promise<void> {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Block explorer the maker's UI links txids to (the taker, on regtest, has none). */
const MAKER_EXPLORER = 'https://explorer.invalid/tx/{txid}';

describe('web UI in headless Chromium', function () {
  this.timeout(240_000);
  if (chromiumMissing()) return;
  const cleanups = useCleanups();
  let net: Network;
  let browser: Browser;
  let takerUrl: string;
  let makerUrl: string;
  let taker: Page;
  let maker: Page;
  let cfdId: string;
  let takerRelay: Awaited<ReturnType<typeof relay>>;
  const pageErrors: string[] = [];
  /** `DLCFD_UI_SCREENSHOTS=dir` keeps a screenshot of each page after each test, for a look. */
  const shots = process.env.DLCFD_UI_SCREENSHOTS;

  afterEach(async function () {
    if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
    if (!shots) return;
    const name = (this.currentTest?.title ?? 'test').replace(/\W+/g, '-').slice(0, 40);
    await taker?.screenshot({ path: join(shots, `taker-${name}.png`), fullPage: true });
    await maker?.screenshot({ path: join(shots, `maker-${name}.png`), fullPage: true });
  });

  before(async () => {
    ensureBuiltUi();
    net = await startNetwork(cleanups);
    // As if the maker had been started with --explorer-url (the network's nodes are built by the
    // shared e2e helper; the UI reads the setting on each GET /api/node).
    net.maker.config.ui.explorerUrl = MAKER_EXPLORER;
    for (const [d, password] of [
      [net.taker, TAKER_PASSWORD],
      [net.maker, MAKER_PASSWORD],
    ] as const) {
      const ui = await startUiServer(d, {
        host: '127.0.0.1',
        port: 0,
        logger: silent,
        staticDir: BUILT_UI_DIR,
        password,
        // The taker's browser comes through a relay on another port (below): its Host and
        // Origin name the relay's port.
        ...(d === net.taker ? { allowedHosts: ['127.0.0.1'] } : {}),
      });
      cleanups.push(() => ui.close());
      if (d === net.taker) {
        // The taker's browser reaches its node through a relay a test can cut.
        takerRelay = await relay(ui.url);
        cleanups.push(() => takerRelay.close());
        takerUrl = takerRelay.url;
      } else makerUrl = ui.url;
    }
    // launch() gives the browser a fresh temporary profile, removed when it closes.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    cleanups.push(() => browser.close());
    // One fresh context per node: their cookies stay apart (both are on 127.0.0.1).
    const open = async (): Promise<Page> => {
      const context: BrowserContext = await browser.newContext({
        viewport: { width: 1400, height: 1000 },
      });
      // The txid copy buttons write to the clipboard; the tests read it back.
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      const page = await context.newPage();
      page.setDefaultTimeout(SEE_MS);
      // A script error in the page fails the suite even if the assertions happen to pass.
      page.on('pageerror', (err) => pageErrors.push(err.message));
      return page;
    };
    taker = await open();
    maker = await open();
  });

  /** The row of the CFD, wherever it is (open or closed table). */
  const row = (page: Page, id: string) => page.locator(`[data-cfd-id="${id}"]`);
  const stateIs = (page: Page, id: string, state: string) =>
    row(page, id).locator(`[data-testid="cfd-state"][data-state="${state}"]`).waitFor();

  /** Clicks an action button of the CFD and confirms it in the dialog. */
  async function act(page: Page, id: string, action: string) {
    if (!(await tryAct(page, id, action))) {
      throw new Error(
        `${action} refused: ${await page.getByTestId('confirm-error').textContent()}`,
      );
    }
  }

  /** {@link act}, but a refusal (shown in the dialog) cancels the dialog and returns false. */
  async function tryAct(page: Page, id: string, action: string): Promise<boolean> {
    await row(page, id).getByTestId(action).click();
    await page.getByTestId('confirm-ok').click();
    const done = await Promise.race([
      page
        .getByTestId('confirm-dialog')
        .waitFor({ state: 'detached' })
        .then(
          () => true,
          () => false,
        ),
      page
        .getByTestId('confirm-error')
        .waitFor()
        .then(
          () => false,
          () => false,
        ),
    ]);
    if (!done) await page.getByTestId('confirm-cancel').click();
    return done;
  }

  /** How many quotes the price chart holds. */
  const chartPoints = (page: Page) =>
    page.getByTestId('price-chart-points').getAttribute('data-points').then(Number);

  it('logs in with the password; a wrong one says so', async () => {
    // Quotes from before the page opens, in two of the history's 5 s buckets; the feed does not
    // tick by itself here, so after login only the node's history can give the chart two points.
    net.feed.setPrice(parsePrice('50000'));
    await sleep(5_100);
    net.feed.setPrice(parsePrice('50000'));
    await until('two points of history', () => net.taker.feed.history.size >= 2);
    await taker.goto(takerUrl);
    await taker.getByTestId('login-password').fill('not-the-password');
    await taker.getByTestId('login-submit').click();
    await taker
      .getByTestId('login-error')
      .filter({ hasText: /password/i })
      .waitFor();
    await login(taker, takerUrl, TAKER_PASSWORD, 'taker');
    await taker.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
    // The chart starts from the node's history, not from the first quote after login.
    await until('the chart shows the history', async () => (await chartPoints(taker)) >= 2);
    // Health is a compact indicator in the header that opens the table of every subsystem.
    await taker.getByTestId('health-indicator').click();
    await taker.getByTestId('health-panel').getByTestId('health-pricefeed').waitFor();
    await taker.keyboard.press('Escape');
    await taker.getByTestId('health-panel').waitFor({ state: 'detached' });
    await login(maker, makerUrl, MAKER_PASSWORD, 'maker');
  });

  it('shows the wallet’s recovery words only after the password is given again', async () => {
    await taker.getByTestId('mnemonic-password').fill('not-the-password');
    await taker.getByTestId('mnemonic-show').click();
    await taker
      .getByTestId('mnemonic-error')
      .filter({ hasText: /password/i })
      .waitFor();
    await taker.getByTestId('mnemonic-password').fill(TAKER_PASSWORD);
    await taker.getByTestId('mnemonic-show').click();
    await taker
      .getByTestId('mnemonic')
      .filter({ hasText: /^(\w+ ){11,23}\w+$/ })
      .waitFor();
  });

  it('the maker turns auto-accept off in its policy panel', async () => {
    const box = maker.getByTestId('policy-auto-accept');
    await box.waitFor();
    if (await box.isChecked()) await box.uncheck();
    // A policy change needs the password again.
    await maker.getByTestId('policy-password').fill(MAKER_PASSWORD);
    await maker.getByTestId('policy-save').click();
    await maker.getByTestId('policy-saved').waitFor();
    await maker.getByTestId('offer-short').waitFor();
  });

  it('the taker’s limits: an opening fee above them marks the offer with the reason', async () => {
    const fee = taker.getByTestId('limits-opening-fee');
    await fee.waitFor();
    await fee.fill('0');
    // A limits change needs the password again: a wrong one is refused and says so.
    await taker.getByTestId('limits-password').fill('not-the-password');
    await taker.getByTestId('limits-save').click();
    await taker
      .getByTestId('limits-save-error')
      .filter({ hasText: /password/i })
      .waitFor();
    await taker.getByTestId('limits-password').fill(TAKER_PASSWORD);
    await taker.getByTestId('limits-save').click();
    await taker.getByTestId('limits-saved').waitFor();
    await taker
      .getByTestId('offer-outside-limits')
      .filter({ hasText: /opening fee of \d+ sats .* above the taker's limit of 0\.00 %/ })
      .waitFor();
    await fee.fill('100');
    await taker.getByTestId('limits-password').fill(TAKER_PASSWORD);
    await taker.getByTestId('limits-save').click();
    await taker.getByTestId('offer-outside-limits').waitFor({ state: 'detached' });
  });

  it('the taker takes an offer, the maker accepts it, and both see it reach Open', async () => {
    await taker.getByTestId('side-long').click();
    await taker.getByTestId('trade-lots').fill('1');
    await taker.getByTestId('trade-leverage').selectOption('2');
    // The order is answered once the maker accepted it: auto-accept is off, so the maker's user
    // accepts it while the taker's dialog waits. A refusal (the price moved beyond the slippage)
    // is shown in the dialog, and the user tries again.
    for (let attempt = 0; ; attempt++) {
      await taker.getByTestId('trade-preview').getByTestId('preview-margin').waitFor();
      await taker.getByTestId('trade-submit').click();
      await taker.getByTestId('confirm-ok').click();
      const accepted = maker
        .locator('[data-cfd-id]')
        .getByTestId('cfd-accept')
        .first()
        .waitFor({ timeout: 20_000 })
        .then(async () => {
          const id = await maker
            .locator('[data-cfd-id]')
            .filter({ has: maker.getByTestId('cfd-accept') })
            .first()
            .getAttribute('data-cfd-id');
          await act(maker, id!, 'cfd-accept');
        })
        .catch(() => undefined);
      const outcome: 'placed' | 'refused' | 'timeout' = await Promise.race([
        taker
          .getByTestId('trade-placed')
          .waitFor()
          .then(
            () => 'placed' as const,
            () => 'timeout' as const,
          ),
        taker
          .getByTestId('confirm-error')
          .waitFor()
          .then(
            () => 'refused' as const,
            () => 'timeout' as const,
          ),
      ]);
      await accepted;
      if (outcome === 'placed') break;
      if (outcome === 'timeout') throw new Error('the order was neither placed nor refused');
      if (attempt >= 3)
        throw new Error((await taker.getByTestId('confirm-error').textContent()) ?? '');
      await taker.getByTestId('confirm-cancel').click();
    }
    const first = taker.locator('[data-cfd-id]').first();
    await first.waitFor();
    cfdId = (await first.getAttribute('data-cfd-id'))!;
    // Contract setup, then the lock waits for a confirmation: the taker sees the lock's txid.
    const lock = row(taker, cfdId).getByTestId('tx-lock');
    await lock.waitFor();
    await stateIs(taker, cfdId, 'pendingOpen');
    const lockTxid = (await lock.getAttribute('title'))!;
    await confirmAfterMempool(net.chain, net.taker, lockTxid);
    await stateIs(taker, cfdId, 'open');
    await stateIs(maker, cfdId, 'open');
    // The header says what the node pays in fees, and what decided it.
    await taker
      .getByTestId('fee-line')
      .filter({
        hasText: /^Fees: \d+ sat\/vB \((estimatesmartfee|mempool minimum|fallback|your cap)/,
      })
      .waitFor();
    // Txids: the maker links to its explorer; the taker (regtest, none) offers to copy.
    const makerLock = row(maker, cfdId).getByTestId('tx-lock').getByTestId('txid-link');
    assert.equal(await makerLock.getAttribute('href'), `https://explorer.invalid/tx/${lockTxid}`);
    assert.equal(await makerLock.getAttribute('target'), '_blank');
    assert.equal(await lock.getByTestId('txid-link').count(), 0, 'no dead link on regtest');
    await lock.getByTestId('txid-copy').click();
    await lock.getByTestId('txid-copy').filter({ hasText: 'copied' }).waitFor();
    assert.equal(await taker.evaluate(() => navigator.clipboard.readText()), lockTxid);
    // Until when it is funded, and that rollovers keep it going.
    await row(taker, cfdId)
      .getByTestId('cfd-funding')
      .filter({ hasText: /funded until|rolling over/ })
      .waitFor();
    await row(maker, cfdId).getByTestId('cfd-funding').waitFor();
    // P/L at the current quote, and the detail with the payout curve.
    await row(taker, cfdId).getByTestId('cfd-pnl').filter({ hasText: 'sat' }).waitFor();
    await row(taker, cfdId).getByTestId('cfd-details').click();
    await taker.getByTestId('payout-chart').locator('canvas').waitFor();
    await taker.getByTestId('detail-funded-until').filter({ hasText: /\d/ }).waitFor();
    await taker
      .getByTestId('detail-rollovers')
      .filter({ hasText: /every|rolling over|not happening/ })
      .waitFor();
  });

  it('the taker closes it, the maker accepts the settlement, and it shows Closed with the payout', async () => {
    // A rollover may be under way when the close is proposed (it then fails and the position
    // stays open with Close available): the user clicks Close again.
    for (let attempt = 0; ; attempt++) {
      await stateIs(taker, cfdId, 'open');
      // Refused when a rollover started in between (409, shown in the dialog): try again.
      if (!(await tryAct(taker, cfdId, 'cfd-close'))) {
        if (attempt >= 4) throw new Error('the close was refused every time');
        continue;
      }
      const accept = row(maker, cfdId).getByTestId('cfd-accept');
      const proposed = await accept
        .waitFor({ timeout: 20_000 })
        .then(() => true)
        .catch(() => false);
      if (proposed) {
        await act(maker, cfdId, 'cfd-accept');
        break;
      }
      if (attempt >= 4) throw new Error('the maker never saw the settlement proposal');
    }
    const close = row(taker, cfdId).getByTestId('tx-close');
    await close.waitFor();
    await confirmAfterMempool(net.chain, net.taker, (await close.getAttribute('title'))!);
    await stateIs(taker, cfdId, 'closed');
    await row(taker, cfdId)
      .getByTestId('cfd-payout')
      .filter({ hasText: /payout \d/ })
      .waitFor();
    await stateIs(maker, cfdId, 'closed');
  });

  it('stopping the price feed turns its health red, restarting it turns it green', async () => {
    await taker.getByTestId('health-indicator').click();
    const feedRow = taker.getByTestId('health-pricefeed');
    await taker.locator('[data-testid="health-pricefeed"][data-status="ok"]').waitFor();
    const port = net.feed.port;
    await net.feed.stop();
    await taker.locator('[data-testid="health-pricefeed"][data-status="down"]').waitFor();
    const red = await feedRow.locator('.status-down').evaluate((el) => getComputedStyle(el).color);
    if (red !== 'rgb(239, 83, 80)' && red !== 'rgb(208, 48, 48)') {
      throw new Error(`the down status is not shown in red: ${red}`);
    }
    net.feed = await PriceFeedServer.start({ port, startPrice: parsePrice('50000'), tickMs: 0 });
    cleanups.push(() => net.feed.stop());
    await taker.locator('[data-testid="health-pricefeed"][data-status="ok"]').waitFor();
    const green = await feedRow.locator('.status-ok').evaluate((el) => getComputedStyle(el).color);
    if (green !== 'rgb(38, 166, 154)' && green !== 'rgb(10, 138, 110)') {
      throw new Error(`the ok status is not shown in green: ${green}`);
    }
    await taker.keyboard.press('Escape');
  });

  it('when the node drops the live stream, the header says reconnecting, then live, and data flows again', async () => {
    const connection = taker.getByTestId('connection');
    const quote = taker.getByTestId('quote');
    await connection.filter({ hasText: /^live$/ }).waitFor();
    takerRelay.down();
    await connection.filter({ hasText: 'reconnecting' }).waitFor();
    // The price moves while the page is cut off.
    net.feed.setPrice(parsePrice('50100'));
    await sleep(3_000); // a browser retry or two find the node still away
    assert.match((await connection.textContent()) ?? '', /reconnecting/);
    takerRelay.up();
    await connection.filter({ hasText: /^live$/ }).waitFor();
    // The snapshot of the new stream brings what was missed…
    await quote.filter({ hasText: '$50,100.50' }).waitFor();
    // …and live updates resume.
    net.feed.setPrice(parsePrice('50200'));
    await quote.filter({ hasText: '$50,200.50' }).waitFor();
  });

  it('changes the password: the new one logs in, the old one no longer does', async () => {
    const NEW_PASSWORD = 'taker-password-2';
    const change = async (current: string) => {
      await taker.getByTestId('password-current').fill(current);
      await taker.getByTestId('password-new').fill(NEW_PASSWORD);
      await taker.getByTestId('password-change').click();
    };
    await change('not-the-password');
    await taker
      .getByTestId('password-error')
      .filter({ hasText: /password/i })
      .waitFor();
    await change(TAKER_PASSWORD);
    await taker.getByTestId('password-changed').waitFor();
    // This session goes on (with a fresh session id).
    await taker
      .getByTestId('connection')
      .filter({ hasText: /^live$/ })
      .waitFor();
    await taker.getByTestId('logout').click();
    await taker.getByTestId('login-password').waitFor();
    await taker.getByTestId('login-password').fill(TAKER_PASSWORD);
    await taker.getByTestId('login-submit').click();
    await taker
      .getByTestId('login-error')
      .filter({ hasText: /password/i })
      .waitFor();
    await taker.getByTestId('login-password').fill(NEW_PASSWORD);
    await taker.getByTestId('login-submit').click();
    await taker.getByTestId('node-role').filter({ hasText: 'taker' }).waitFor();
  });

  if (shots) {
    it('saves the taker’s and the maker’s home pages at 1440×900 and 390×844', async () => {
      await saveHomeShots(taker, takerUrl, shots, 'home-taker');
      await saveHomeShots(maker, makerUrl, shots, 'home-maker');
    });
  }
});

describe('web UI of a node whose services are all down', function () {
  this.timeout(120_000);
  if (!existsSync(CHROMIUM)) return;
  const cleanups = new Cleanups();
  after(() => cleanups.run());

  it('still loads, shows each subsystem’s health and says why nothing can be traded', async () => {
    ensureBuiltUi();
    // No chain, no oracle, no maker, and a price feed nobody listens on.
    const node = await startNode(cleanups, {
      ui: { staticDir: BUILT_UI_DIR, password: TAKER_PASSWORD },
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    cleanups.add(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(SEE_MS);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(node.ui.url);
    await page.getByTestId('login-password').fill(TAKER_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('health-indicator').click();
    await page.getByTestId('health-panel').waitFor();
    await page.locator('[data-testid="health-pricefeed"]:not([data-status="ok"])').waitFor();
    await page
      .getByTestId('no-offer')
      .filter({ hasText: /no maker configured/ })
      .waitFor();
    await page.getByTestId('wallet-unavailable').filter({ hasText: /chain/ }).waitFor();
    await page
      .getByTestId('quote')
      .filter({ hasText: /no price/ })
      .waitFor();
    if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
  });
});
