// One order book across makers (issue #17) against a real in-process network — embedded chain,
// feed, oracle, THREE makers quoting different spreads, one taker configured with all three
// (p2p.makers) — first over the HTTP API (the book, block and its refusal, prefer), then in
// headless Chromium: the book with three makers, the product switch, taking the best offer.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { formatPrice } from '../../model/units.ts';
import type { OrderBookView } from '../../node/app/views/order-book.ts';
import type { Daemon } from '../../node/daemon/daemon.ts';
import { startNetwork, until, useCleanups } from '../e2e/network.ts';
import { apiOf } from '../helpers/api.ts';
import { chromiumMissing, ensureBuiltUi, launchBrowser, loggedIn, serveUi } from './harness.ts';

const PASSWORD = 'book-password-1';

describe('the order book across three makers: API and headless Chromium', function () {
  this.timeout(240_000);
  if (chromiumMissing()) return;
  const cleanups = useCleanups();
  let makers: Daemon[];
  let taker: Daemon;
  let page: Page | undefined;
  let api: ReturnType<typeof apiOf>;
  let url: string;
  /** The CFD POST /api/orders/best opened while the best maker was blocked. */
  let firstOrder: string;
  const pageErrors: string[] = [];
  const shots = process.env.DLCFD_UI_SCREENSHOTS;

  afterEach(async function () {
    if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
    if (!shots || !page) return;
    const name = (this.currentTest?.title ?? 'test').replace(/\W+/g, '-').slice(0, 40);
    await page.screenshot({ path: join(shots, `book-${name}.png`), fullPage: true });
  });

  before(async () => {
    ensureBuiltUi();
    // Spreads 10 (the default), 5 and 40 basis points around one feed price: the second maker
    // has the best bid and the best ask.
    const net = await startNetwork(cleanups, {}, {}, {}, [{ spread: '5' }, { spread: '40' }]);
    makers = net.makers;
    taker = net.taker;
    // A second coin: the taker opens two contracts before any lock confirms.
    await net.chain.fund(await taker.wallet!.receiveAddress(), 10_000_000n);
    await net.chain.mine(1);
    await until('two coins', async () => {
      await taker.wallet!.sync();
      return taker.wallet!.balance().spendable === 20_000_000n;
    });
    const ui = await serveUi(taker, PASSWORD);
    cleanups.push(() => ui.close());
    url = ui.url;
    api = apiOf(ui.url, (await readFile(ui.apiCookiePath, 'utf8')).trim());
  });

  const book = async (symbol = 'BTCUSD') =>
    (await api('GET', `/api/book?symbol=${symbol}`)).body as OrderBookView;
  /** The book once every maker in it not blocked has a bid and an ask. */
  const fullBook = (count: number) =>
    until(`a book with ${count} makers quoting`, async () => {
      const b = await book();
      const quoting = b.makers.filter((m) => !m.blocked && m.offers.length === 2);
      return quoting.length === count ? b : undefined;
    });
  /** What maker `i` publishes for its side `makerPosition`. */
  const published = (i: number, makerPosition: 'long' | 'short') =>
    makers[i]!.offers.published.find((o) => o.makerPosition === makerPosition)!;

  it('GET /api/book: three makers, each with its offers and record; best bid and ask across them', async () => {
    const b = await fullBook(3);
    assert.deepEqual(new Set(b.makers.map((m) => m.peerId)), new Set(makers.map((m) => m.peerId)));
    const best = makers[1]!.peerId;
    assert.equal(b.bestAsk?.maker, best);
    assert.equal(b.bestBid?.maker, best);
    assert.equal(b.bestAsk?.price, formatPrice(published(1, 'short').price));
    assert.equal(b.bestBid?.price, formatPrice(published(1, 'long').price));
    // It is the best: every other maker asks more and bids less.
    for (const i of [0, 2]) {
      assert.ok(published(i, 'short').price > published(1, 'short').price);
      assert.ok(published(i, 'long').price < published(1, 'long').price);
    }
    // Tightest ask first.
    assert.deepEqual(
      b.makers.map((m) => m.peerId),
      [1, 0, 2].map((i) => makers[i]!.peerId),
    );
    for (const m of b.makers) {
      assert.equal(m.record.connected, true, m.peerId);
      assert.ok(m.record.uptimePercent !== null && m.record.uptimePercent > 0, m.peerId);
      assert.ok(m.record.lastOfferSecs !== null, m.peerId);
      assert.deepEqual(
        m.offers.map((o) => [o.makerPosition, o.symbol, o.lotSize]),
        [
          ['long', 'BTCUSD', '100'],
          ['short', 'BTCUSD', '100'],
        ],
      );
    }
    const eth = await book('ETHUSD');
    assert.deepEqual([eth.bestBid, eth.bestAsk], [null, null]);
    assert.equal(eth.reason, 'no maker offers ETHUSD');
    assert.equal((await api('GET', '/api/book?symbol=XYZ')).status, 400);
  });

  it('block: the maker leaves the book and the connection, an order to it is refused by name; unblock brings it back', async () => {
    const blocked = makers[1]!.peerId;
    const theirs = (await fullBook(3)).makers
      .find((m) => m.peerId === blocked)!
      .offers.find((o) => o.makerPosition === 'short')!;
    const r = await api('POST', `/api/makers/${blocked}/block`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { blocked: [blocked], preferred: [] });
    const b = await book();
    assert.equal(b.bestAsk?.maker, makers[0]!.peerId, 'the next best ask');
    assert.equal(b.bestBid?.maker, makers[0]!.peerId, 'the next best bid');
    const row = b.makers.at(-1)!;
    assert.deepEqual([row.peerId, row.blocked, row.offers.length], [blocked, true, 0]);
    await until('hung up on the blocked maker', () =>
      taker.p2p.getPeers().every((p) => p.toString() !== blocked),
    );
    const order = await api('POST', '/api/orders', { offerId: theirs.id, lots: 1, leverage: 2 });
    assert.equal(order.status, 409);
    assert.equal((order.body.error as { name: string }).name, 'MakerBlockedError');
    // Nothing of the blocked maker in GET /api/offers; "best" takes the best of the others.
    const offers = (await api('GET', '/api/offers')).body.offers as { maker: string }[];
    assert.ok(offers.length > 0 && offers.every((o) => o.maker !== blocked));
    const best = await api('POST', '/api/orders/best', { side: 'long', lots: 1, leverage: 2 });
    assert.equal(best.status, 202, JSON.stringify(best.body));
    firstOrder = best.body.orderId as string;
    const cfd = await taker.readModel.get(firstOrder);
    assert.equal(cfd?.terms?.counterpartyPeerId, makers[0]!.peerId, 'the next best maker');

    assert.deepEqual((await api('POST', `/api/makers/${blocked}/unblock`)).body, {
      blocked: [],
      preferred: [],
    });
    const back = await fullBook(3);
    assert.equal(back.bestAsk?.maker, blocked);
  });

  it('prefer: the book marks the maker and lists it first; a better price still wins; records count setups', async () => {
    const worst = makers[2]!.peerId;
    assert.deepEqual((await api('POST', `/api/makers/${worst}/prefer`)).body, {
      blocked: [],
      preferred: [worst],
    });
    const b = await book();
    assert.deepEqual([b.makers[0]!.peerId, b.makers[0]!.preferred], [worst, true]);
    assert.equal(b.bestAsk?.maker, makers[1]!.peerId);
    await api('POST', `/api/makers/${worst}/unprefer`);
    assert.equal((await book()).makers[0]!.preferred, false);
    // The order "best" placed while the best maker was blocked counts in the next one's record.
    await until('the setup in the record', async () => {
      const m = (await book()).makers.find((x) => x.peerId === makers[0]!.peerId)!;
      return m.record.setupsCompleted === 1 && m.record.setupsFailed === 0;
    });
  });

  it('in Chromium: the book with three makers, the product switch, taking the best offer', async () => {
    const browser = await launchBrowser(cleanups);
    page = await loggedIn(browser, url, PASSWORD, pageErrors, { width: 1440, height: 1000 });
    const panel = page.getByTestId('book-panel');
    await until('three makers in the book panel', async () =>
      (await panel.locator('[data-testid="book-maker"]').count()) === 3 ? true : undefined,
    );
    const best = makers[1]!.peerId;
    await panel
      .getByTestId('book-best-ask')
      .and(page.locator(`[data-maker="${best}"]`))
      .waitFor();
    // The product switch: nobody offers ETHUSD.
    await panel.getByTestId('book-tab-ETHUSD').click();
    await panel.getByTestId('book-empty').filter({ hasText: 'no maker offers ETHUSD' }).waitFor();
    await panel.getByTestId('book-tab-BTCUSD').click();
    await panel.locator('[data-testid="book-maker"]').nth(2).waitFor();
    // Take the best: the trade panel trades with the best maker, through the confirm dialog.
    await panel.getByTestId('book-take-best').click();
    const trade = page.getByTestId('trade-panel');
    await trade
      .getByTestId('trade-maker')
      .and(page.locator(`[data-maker="${best}"]`))
      .waitFor();
    await trade.getByTestId('side-long').click();
    await trade.getByTestId('trade-lots').fill('1');
    const submit = trade.getByTestId('trade-submit');
    await until('the order can be placed', async () => !(await submit.isDisabled()));
    await submit.click();
    await page.getByTestId('confirm-ok').click();
    await trade.getByTestId('trade-placed').waitFor();
    const cfd = await until('the CFD', async () =>
      (await taker.readModel.all()).find((c) => c.terms && c.terms.id !== firstOrder),
    );
    assert.equal(cfd.terms!.counterpartyPeerId, best, 'the CFD is with the best maker');
  });
});
