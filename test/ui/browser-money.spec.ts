// Issue #15, "one truth for money" and "every state explained", as a taker sees it in real
// headless Chromium against a real network (embedded chain, price feed, oracle, an auto-accepting
// maker and the taker over libp2p): the payout figure of a position is the same while it closes
// and once it is closed — for a collaborative close and for a CET, and equal to the transaction's
// output on chain; a committed position says what it waits for and until when; a liquidation is
// warned before it happens (in the UI and as a live-feed event) and labelled as such after.
// The chain is driven from here (mining); everything else is what the user clicks and sees.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { uiState } from '../../model/cfd.ts';
import { liquidationPrice, margins } from '../../model/fees.ts';
import { formatPrice, parsePrice } from '../../model/units.ts';
import {
  cfd,
  confirmAfterMempool,
  type Network,
  openCfd,
  outputOf,
  startNetwork,
  until,
  useCleanups,
} from '../e2e/network.ts';
import {
  cfdRow,
  chromiumMissing,
  ensureBuiltUi,
  launchBrowser,
  loggedIn,
  serveUi,
  stateIs,
} from './harness.ts';

const PASSWORD = 'taker-password-1';

describe('web UI: one payout figure, every state explained (issue #15)', function () {
  this.timeout(300_000);
  if (chromiumMissing()) return;
  const cleanups = useCleanups();
  const pageErrors: string[] = [];
  let net: Network;
  let browser: Browser;
  let page: Page;
  /** Opened up front, one per test: a collaborative close and a CET. */
  let ids: { close: string; cet: string };

  before(async () => {
    ensureBuiltUi();
    // Rollovers every 20 s of a 60-second settlement interval: an open position's settlement
    // event stays 40–60 s away, long enough after a force close to read what the committed
    // position waits for before the oracle attests, and every position has the hourly liquidation
    // events' CETs after its first rollover. (Every 5 s, as the e2e specs roll, keeps a loaded
    // 2-core machine signing rollovers of three positions.)
    net = await startNetwork(cleanups, { 'rollover-interval': '20', 'settlement-interval': '60' });
    ids = { close: await openCfd(net), cet: await openCfd(net) };
    const ui = await serveUi(net.taker, PASSWORD);
    cleanups.push(() => ui.close());
    const url = ui.url;
    browser = await launchBrowser(cleanups);
    page = await loggedIn(browser, url, PASSWORD, pageErrors);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(
        await page
          .locator('main')
          .textContent({ timeout: 5_000 })
          .catch(() => ''),
      );
      // What the nodes hold, for the failure report.
      for (const d of [net.taker, net.maker]) {
        for (const c of d.readModel.openCfds()) {
          const problem = d.processManager.problems.get(c.terms!.id);
          console.log(
            `${d.config.role} ${c.terms!.id} ${uiState(c)} rollover=${c.rollover ?? '-'} lock=${c.lockConfirmed}${problem ? ` problem: ${problem.reason}` : ''} now=${Math.floor(Date.now() / 1000)} event=${c.dlc?.settlementEventId} attested=${c.attestation?.eventId}`,
          );
        }
      }
    }
    if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  });

  /** The payout figure the row shows now: sats, and whether it was read from a transaction. */
  async function payoutShown(id: string): Promise<{ sats: string; source: string }> {
    const figure = cfdRow(page, id).getByTestId('payout-figure');
    return {
      sats: (await figure.getAttribute('data-payout'))!,
      source: (await figure.getAttribute('data-source'))!,
    };
  }

  /** Clicks a row's action and confirms it; false when the node refused (shown in the dialog). */
  async function act(id: string, action: string): Promise<boolean> {
    await cfdRow(page, id).getByTestId(action).click();
    await page.getByTestId('confirm-ok').click();
    const done = await Promise.race([
      page
        .getByTestId('confirm-dialog')
        .waitFor({ state: 'detached' })
        .then(() => true),
      page
        .getByTestId('confirm-error')
        .waitFor()
        .then(() => false),
    ]);
    if (!done) await page.getByTestId('confirm-cancel').click();
    return done;
  }

  it('the wallet shows the margin in contracts and the equity', async () => {
    const inContracts = page.getByTestId('wallet-in-contracts');
    // Two open positions of 100 contracts at the offer's price (≈ 50,000) and 2×: the margins the
    // node computed for them, added up.
    let margin = 0n;
    for (const id of Object.values(ids)) {
      const t = (await cfd(net.taker, id))!.terms!;
      margin += margins({ ...t, price: t.initialPrice, makerPosition: 'short' }).taker;
    }
    await inContracts
      .filter({ hasText: `0.00${margin.toString().padStart(6, '0')} BTC` })
      .waitFor()
      .catch(async (err: Error) => {
        throw new Error(
          `${err.message}; it shows: ${await page.getByTestId('wallet-panel').textContent()}`,
        );
      });
    await inContracts.filter({ hasText: '2 positions' }).waitFor();
    await page
      .getByTestId('wallet-equity')
      .filter({ hasText: /\d\.\d{8} BTC/ })
      .waitFor();
    // Funding in real units: who pays, how much, per what (the 60-second interval as it is).
    await cfdRow(page, ids.close).getByTestId('cfd-details').click();
    await page
      .getByTestId('detail-funding-payment')
      .filter({ hasText: /you (pay|receive) [\d,]+ sat per 1m\b/ })
      .waitFor();
    // The detail is the position's own page (#/cfd/<id>); closing it goes back to the list.
    await page.getByTestId('cfd-detail-close').click();
    await page.getByTestId('position-page').waitFor({ state: 'detached' });
  });

  it('a collaborative close: the payout figure while closing is the one once closed, and on chain', async () => {
    const id = ids.close;
    // A rollover may be under way when the close is asked for: the node refuses, the user retries.
    for (let attempt = 0; ; attempt++) {
      await stateIs(page, id, 'open');
      if (await act(id, 'cfd-close')) break;
      if (attempt >= 5) throw new Error('the close was refused every time');
    }
    await stateIs(page, id, 'pendingClose');
    await cfdRow(page, id)
      .getByTestId('payout-figure')
      .and(page.locator('[data-source="transaction"]'))
      .waitFor();
    const closing = await payoutShown(id);
    await cfdRow(page, id)
      .getByTestId('cfd-status')
      .filter({ hasText: /collaborative close at \$[\d,]+\.\d\d is published/ })
      .waitFor();
    const closeTx = (await cfd(net.taker, id))!.closeTx!;
    await confirmAfterMempool(net.chain, net.taker, closeTx.txid);
    await stateIs(page, id, 'closed');
    assert.deepEqual(await payoutShown(id), closing);
    const onChain = await outputOf(net.taker, closeTx.txid, 1);
    assert.equal(closing.sats, onChain!.value.toString());
  });

  it('a force close: the committed position says why and until when; the CET pays the figure shown while settling', async () => {
    const id = ids.cet;
    await stateIs(page, id, 'open');
    // Force close is allowed during a rollover too.
    assert.ok(await act(id, 'cfd-commit'), 'force close refused');
    const commit = await until('our commit', async () => (await cfd(net.taker, id))?.commitTx);
    await confirmAfterMempool(net.chain, net.taker, commit.txid);
    await stateIs(page, id, 'openCommitted');
    // Why and until when: the oracle event (in the user's clock) and the CET timelock.
    const status = cfdRow(page, id).getByTestId('cfd-status');
    await status
      .filter({
        hasText: /committed: waiting for the oracle event at \d{1,2}:\d\d( [AP]M)? \(in \d+[sm]\)/,
      })
      .filter({ hasText: /CET timelock: 11 blocks left/ })
      .filter({ hasText: /refund after \d+ more blocks/ })
      .waitFor();
    // Not a live P/L: the payout the CET would pay at the price the oracle would attest now.
    await cfdRow(page, id)
      .getByTestId('payout-figure')
      .filter({ hasText: /if settled by the CET at \$/ })
      .waitFor();
    await net.chain.mine(11);
    // The CET timelock has passed; the oracle attests, and the CET goes out.
    await stateIs(page, id, 'pendingCet');
    const settling = await payoutShown(id);
    assert.equal(settling.source, 'transaction');
    const cet = (await cfd(net.taker, id))!.cet!;
    await confirmAfterMempool(net.chain, net.taker, cet.txid);
    await stateIs(page, id, 'closed');
    assert.deepEqual(await payoutShown(id), settling);
    const onChain = await outputOf(net.taker, cet.txid, 1);
    assert.equal(settling.sats, onChain!.value.toString());
  });

  it('a liquidation is warned before it happens, then shows as Liquidating and Liquidated', async () => {
    const id = await openCfd(net);
    // Liquidation events' CETs come with the first rollover.
    await until(
      'rolled over',
      async () => ((await cfd(net.taker, id))?.revokedCommitTxids.length ?? 0) >= 1,
      120_000,
    );
    // What a script sees: the live feed's liquidationWarning event.
    await page.evaluate(() => {
      const w = window as unknown as { warnings: unknown[] };
      w.warnings = [];
      new EventSource('/api/events').addEventListener('liquidationWarning', (e) =>
        w.warnings.push(JSON.parse((e as MessageEvent<string>).data)),
      );
    });
    // The long taker at 2× is liquidated at two thirds of its entry price (≈ 33,367 at an entry of
    // ≈ 50,050): 35,000 is within 10 % of it.
    const t = (await cfd(net.taker, id))!.terms!;
    const liq = formatPrice(liquidationPrice('long', t.initialPrice, t.takerLeverage));
    const liqUsd = Number(liq.split('.')[0]).toLocaleString('en-US');
    net.feed.setPrice(parsePrice('35000'));
    await cfdRow(page, id)
      .getByTestId('cfd-liquidation-warning')
      .filter({
        hasText: new RegExp(
          `\\$3[45],\\d{3}\\.\\d\\d is \\d\\.\\d\\d% from your liquidation price \\$${liqUsd}\\.\\d\\d`,
        ),
      })
      .waitFor();
    const events = await until('the warning event', async () => {
      const all = (await page.evaluate(
        () => (window as unknown as { warnings: unknown[] }).warnings,
      )) as { cfdId: string; warning: { liquidationPrice: string } | null }[];
      return all.find((e) => e.cfdId === id && e.warning) ? all : undefined;
    });
    assert.equal(events.find((e) => e.cfdId === id)!.warning!.liquidationPrice, liq);
    await stateIs(page, id, 'open');

    // Past it: the oracle attests a liquidation event; nobody asked for this close.
    net.feed.setPrice(parsePrice('30000'));
    await stateIs(page, id, 'liquidating');
    await cfdRow(page, id)
      .getByTestId('cfd-state')
      .filter({ hasText: /^Liquidating$/ })
      .waitFor();
    await cfdRow(page, id)
      .getByTestId('cfd-status')
      .filter({
        hasText:
          /liquidation: the oracle attested \$30,000\.00, past the liquidation price of this position/,
      })
      .waitFor();
    const commit = (await cfd(net.taker, id))!.commitTx!;
    await confirmAfterMempool(net.chain, net.taker, commit.txid);
    await net.chain.mine(12);
    const cet = await until('CET out', async () => {
      const c = await cfd(net.taker, id);
      return c?.cet && c.cetTimelockExpired ? c.cet : undefined;
    });
    await confirmAfterMempool(net.chain, net.taker, cet.txid);
    await stateIs(page, id, 'liquidated');
    // In the closed table, how it ended, in words.
    await cfdRow(page, id)
      .getByTestId('closed-how')
      .filter({ hasText: /^liquidation \(CET\)$/ })
      .waitFor();
    // The whole margin is gone: nothing comes back (the taker's output is dust, left out).
    assert.equal((await payoutShown(id)).sats, '0');
  });
});
