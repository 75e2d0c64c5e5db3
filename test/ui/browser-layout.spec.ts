// History, export and layout in real headless Chromium against a real in-process network: a
// position is opened and closed collaboratively on the nodes (the e2e helpers: the order flow has
// its own suite), and the tests assert what the taker and the maker see — the chart's lines, the
// maker's counterparty and exposure, a position's own address across a reload and the back
// button, the closed table's exit price, time and how, the funding history, wallet rows named by
// what they were, downloads of the history parsed as CSV and JSON, and a layout that holds on a
// phone.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { parsePrice } from '../../model/units.ts';
import {
  closeCollaboratively,
  type Network,
  openCfd,
  startNetwork,
  useCleanups,
} from '../e2e/network.ts';
import {
  chromiumMissing,
  ensureBuiltUi,
  launchChromium,
  login,
  SEE_MS,
  serveUi,
} from './harness.ts';

const TAKER_PASSWORD = 'taker-password-1';
const MAKER_PASSWORD = 'maker-password-1';

/** A minimal RFC 4180 reader: rows of fields (quoted fields may hold commas and quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

/** The rows of a CSV as objects keyed by its header. */
function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

describe('web UI: history, export and layout', function () {
  this.timeout(240_000);
  if (chromiumMissing()) return;
  const cleanups = useCleanups();
  let net: Network;
  let browser: Browser;
  let takerUrl: string;
  let makerUrl: string;
  let taker: Page;
  let maker: Page;
  let id: string;
  const pageErrors: string[] = [];

  afterEach(() => {
    if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  });

  before(async () => {
    ensureBuiltUi();
    net = await startNetwork(cleanups);
    net.feed.setPrice(parsePrice('50000'));
    const takerUi = await serveUi(net.taker, TAKER_PASSWORD);
    cleanups.push(() => takerUi.close());
    const makerUi = await serveUi(net.maker, MAKER_PASSWORD);
    cleanups.push(() => makerUi.close());
    takerUrl = takerUi.url;
    makerUrl = makerUi.url;
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        acceptDownloads: true,
      });
      const page = await context.newPage();
      page.setDefaultTimeout(SEE_MS);
      page.on('pageerror', (err) => pageErrors.push(err.message));
      return page;
    };
    taker = await open();
    maker = await open();
    await login(taker, takerUrl, TAKER_PASSWORD, 'taker');
    await login(maker, makerUrl, MAKER_PASSWORD, 'maker');
    id = await openCfd(net);
  });

  const row = (page: Page, cfdId: string) => page.locator(`[data-cfd-id="${cfdId}"]`);

  it('an open position: its entry and liquidation lines on the chart, the maker’s counterparty and exposure', async () => {
    // Open, or rolling over already (the network's cadence is short).
    await row(taker, id)
      .locator('[data-testid="cfd-state"]:is([data-state="open"], [data-state="rollover"])')
      .waitFor();
    const legend = taker.getByTestId('price-legend');
    await legend.getByTestId('legend-bid').waitFor();
    await legend.getByTestId('legend-ask').waitFor();
    await legend
      .locator(`[data-testid="legend-entry"][data-line-cfd="${id}"]`)
      .filter({ hasText: /entry \$\d{2},\d{3}\.\d{2} \(long / })
      .waitFor();
    // The taker is long 2×: liquidated below the entry.
    await legend
      .locator(`[data-testid="legend-liquidation"][data-line-cfd="${id}"]`)
      .filter({ hasText: /liq\. \$\d{2},\d{3}\.\d{2}/ })
      .waitFor();
    // A timeframe choice: the chart draws the points of the chosen window.
    const points = taker.getByTestId('price-chart-points');
    await taker.getByTestId('timeframe-1h').click();
    await taker.locator('[data-testid="price-chart-points"][data-timeframe="3600"]').waitFor();
    await taker.getByTestId('timeframe-5m').click();
    assert.equal(await points.getAttribute('data-timeframe'), '300');
    assert.equal(await taker.getByTestId('timeframe-5m').getAttribute('aria-pressed'), 'true');

    // The maker: who the counterparty is, shortened (the whole id in the tooltip), and its net
    // exposure — short what the taker is long.
    const takerPeer = net.taker.peerId.toString();
    const cp = row(maker, id).getByTestId('cfd-counterparty');
    await cp.filter({ hasText: `${takerPeer.slice(0, 4)}…${takerPeer.slice(-4)}` }).waitFor();
    assert.equal(await cp.locator('.mono').getAttribute('title'), takerPeer);
    const exposure = maker.getByTestId('exposure');
    await exposure
      .getByTestId('exposure-net')
      .filter({ hasText: /^short \d/ })
      .waitFor();
    const quantity = (await net.maker.readModel.get(id))!.terms!.quantity.toString();
    assert.equal(await exposure.getByTestId('exposure-short').textContent(), quantity);
    assert.equal(await exposure.getByTestId('exposure-long').textContent(), '0');
    assert.match((await exposure.getByTestId('exposure-margin').textContent()) ?? '', /^0\.\d{8}$/);
  });

  it('once closed: the closed table shows exit price, close time and how; the wallet rows say lock and close', async () => {
    await closeCollaboratively(net, net.taker, id);
    for (const page of [taker, maker]) {
      const closed = page.getByTestId('closed-table').locator(`[data-cfd-id="${id}"]`);
      await closed
        .getByTestId('closed-how')
        .filter({ hasText: /^collaborative close$/ })
        .waitFor();
      await closed
        .getByTestId('closed-exit')
        .filter({ hasText: /^\$\d{2},\d{3}\.\d{2}$/ })
        .waitFor();
      await closed
        .getByTestId('closed-at')
        .filter({ hasText: /\d{1,2}:\d{2}/ })
        .waitFor();
      assert.equal(await closed.getByText(/settled by/i).count(), 0, 'no jargon');
    }
    const history = taker.getByTestId('wallet-history');
    await history.locator('tr[data-kind="close"]').getByText(id.slice(0, 6)).waitFor();
    await history.locator('tr[data-kind="lock"]').waitFor();
    await history.locator('tr[data-kind="deposit"]').first().waitFor();
    // The position's page says the same in words.
    await taker.goto(`${takerUrl}/#/cfd/${id}`);
    await taker.getByTestId('history-how').filter({ hasText: 'collaborative close' }).waitFor();
    await taker
      .getByTestId('history-closed-at')
      .filter({ hasText: /\d{1,2}:\d{2}/ })
      .waitFor();
  });

  it('a position has its own address: it survives a reload, and back returns to the list', async () => {
    await taker.goto(takerUrl);
    await row(taker, id).getByTestId('cfd-details').click();
    await taker.waitForURL((u) => u.hash === `#/cfd/${id}`);
    const page = taker.locator(`[data-testid="position-page"][data-position-id="${id}"]`);
    await page.getByTestId('payout-chart').locator('canvas').waitFor();
    await taker.reload();
    await page.getByTestId('payout-chart').locator('canvas').waitFor();
    await page.getByTestId('cfd-detail').filter({ hasText: id }).waitFor();
    // Its funding so far: the first interval's, charged at the open, with who paid whom.
    await page
      .getByTestId('funding-row')
      .first()
      .getByTestId('funding-direction')
      .filter({ hasText: /^you (paid|received) \((long pays short|short pays long)\)$/ })
      .waitFor();
    await taker.goBack();
    await taker.waitForURL((u) => u.hash !== `#/cfd/${id}`);
    await page.waitFor({ state: 'detached' });
    await row(taker, id).waitFor();
    // An address of a position the node does not have says so.
    await taker.goto(`${takerUrl}/#/cfd/no-such-position`);
    await taker.getByTestId('position-missing').filter({ hasText: 'no-such-position' }).waitFor();
    await taker.getByTestId('position-back').click();
    await taker.getByTestId('position-page').waitFor({ state: 'detached' });
  });

  it('health is a header indicator that opens the table; the maker peer is named by its role', async () => {
    const indicator = taker.getByTestId('health-indicator');
    await indicator.waitFor();
    assert.match(
      (await indicator.getAttribute('data-status')) ?? '',
      /^(ok|degraded|down|starting)$/,
    );
    assert.equal(await taker.getByTestId('health-panel').count(), 0, 'closed until asked');
    await indicator.click();
    const makerPeer = net.maker.peerId.toString();
    const peerRow = taker.getByTestId(`health-peer:${makerPeer}`);
    await peerRow
      .getByTestId('health-name')
      .filter({ hasText: `maker peer ${makerPeer.slice(0, 4)}…${makerPeer.slice(-4)}` })
      .waitFor();
    await taker.keyboard.press('Escape');
    await taker.getByTestId('health-panel').waitFor({ state: 'detached' });
  });

  it('exports the history: positions and funding as CSV and everything as JSON, downloaded and parsed', async () => {
    await taker.goto(takerUrl);
    const download = async (testId: string) => {
      const [d] = await Promise.all([
        taker.waitForEvent('download'),
        taker.getByTestId(testId).click(),
      ]);
      const path = await d.path();
      return { name: d.suggestedFilename(), text: await readFile(path, 'utf8') };
    };
    const truth = (await net.taker.app.positionHistory()).positions.find((p) => p.id === id)!;

    const csv = await download('export-csv');
    assert.match(csv.name, /^dlcfd-taker-positions-\d{4}-\d{2}-\d{2}\.csv$/);
    const position = csvObjects(csv.text).find((r) => r.id === id);
    assert.ok(position, `the position in ${csv.text}`);
    assert.equal(position.closed_how, 'collaborative close');
    assert.equal(position.state, 'closed');
    assert.equal(position.side, 'long');
    assert.equal(position.exit_price, truth.exitPrice);
    assert.equal(position.realised_pnl_sat, truth.realisedPnl);
    assert.equal(new Date(position.closed_at!).getTime(), truth.closedAtSecs! * 1000);

    const funding = await download('export-funding-csv');
    const charges = csvObjects(funding.text).filter((r) => r.cfd_id === id);
    assert.equal(charges.length, truth.funding.length);
    assert.equal(charges[0]!.kind, 'open');
    assert.match(charges[0]!.direction!, /^(pay|receive|none)$/);

    const json = await download('export-json');
    assert.match(json.name, /^dlcfd-taker-history-\d{4}-\d{2}-\d{2}\.json$/);
    const parsed = JSON.parse(json.text) as {
      exportedAt: string;
      positions: { id: string; closedBy: string; funding: unknown[] }[];
    };
    assert.ok(!Number.isNaN(Date.parse(parsed.exportedAt)));
    const p = parsed.positions.find((x) => x.id === id)!;
    assert.equal(p.closedBy, 'collaborative');
    assert.equal(p.funding.length, truth.funding.length);
    // An unknown format is refused with the reason.
    const bad = await taker.request.get(`${takerUrl}/api/history/export?format=xml`);
    assert.equal(bad.status(), 400);
    assert.match((await bad.json()).error.message, /format must be csv or json/);
  });

  it('the layout holds: nothing wider than a phone, errors inside their card, the wallet above the fold', async () => {
    for (const [page, url] of [
      [taker, takerUrl],
      [maker, makerUrl],
    ] as const) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(url);
      await page
        .getByTestId('connection')
        .filter({ hasText: /^live$/ })
        .waitFor();
      await page.getByTestId('closed-table').waitFor();
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
      // The wallet's balance is in the header on the first screen.
      const summary = await page.getByTestId('wallet-summary').boundingBox();
      assert.ok(summary && summary.y + summary.height <= 844 && summary.x + summary.width <= 390);
      await page.setViewportSize({ width: 1440, height: 900 });
      const spendable = await page.getByTestId('wallet-spendable').boundingBox();
      assert.ok(spendable && spendable.y + spendable.height <= 900, 'the wallet above the fold');
    }
    // A long error in the trade card wraps inside it (at spaces) rather than running out of it.
    await taker.setViewportSize({ width: 390, height: 844 });
    const fits = await taker.getByTestId('trade-panel').evaluate((panel) => {
      const e = document.createElement('div');
      e.className = 'error';
      e.textContent = `The operation was aborted due to timeout ${'x'.repeat(300)}`;
      panel.querySelector('.panel-body')!.appendChild(e);
      const outer = panel.getBoundingClientRect();
      const inner = e.getBoundingClientRect();
      const result = inner.right <= outer.right + 0.5 && e.scrollWidth <= e.clientWidth + 1;
      e.remove();
      return result;
    });
    assert.ok(fits, 'the error stays inside the trade card');
  });
});
