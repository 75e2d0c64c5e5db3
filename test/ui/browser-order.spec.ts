// The order flow in headless Chromium against a real in-process network (embedded chain, price
// feed, oracle, a maker and a taker over libp2p), each node serving the built UI: quantity errors
// in lots at once, an order refused for slippage after the price moved under a frozen confirm
// dialog, and the maker's policy panel (unpublishing, errors beside their fields).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parsePrice } from '../../model/units.ts';
import { type Network, startNetwork, until, useCleanups } from '../e2e/network.ts';
import { chromiumMissing, ensureBuiltUi, launchBrowser, loggedIn, serveUi } from './harness.ts';

const PASSWORD = 'order-password-1';

describe('web UI: the order flow in headless Chromium', function () {
  this.timeout(180_000);
  if (chromiumMissing()) return;
  const cleanups = useCleanups();
  let net: Network;
  let browser: Browser;
  let taker: Page;
  let maker: Page;
  const pageErrors: string[] = [];
  const shots = process.env.DLCFD_UI_SCREENSHOTS;

  afterEach(async function () {
    if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
    if (!shots) return;
    const name = (this.currentTest?.title ?? 'test').replace(/\W+/g, '-').slice(0, 40);
    await taker?.screenshot({ path: join(shots, `order-taker-${name}.png`), fullPage: true });
    await maker?.screenshot({ path: join(shots, `order-maker-${name}.png`), fullPage: true });
  });

  before(async () => {
    ensureBuiltUi();
    net = await startNetwork(cleanups);
    browser = await launchBrowser(cleanups);
    const open = async (d: typeof net.taker, role: string): Promise<Page> => {
      const ui = await serveUi(d, PASSWORD);
      cleanups.push(() => ui.close());
      const page = await loggedIn(browser, ui.url, PASSWORD, pageErrors, {
        width: 1440,
        height: 900,
      });
      await page.getByTestId('node-role').filter({ hasText: role }).waitFor();
      return page;
    };
    taker = await open(net.taker, 'taker');
    maker = await open(net.maker, 'maker');
  });

  /** The taker's current long offer, as its node holds it. */
  const longOffer = () =>
    net.taker.offers.book
      .current(Math.floor(Date.now() / 1000), { maxOfferAgeSecs: 600 })
      .find((o) => o.offer.makerPosition === 'short')?.offer;

  it('says at once, in lots, why a quantity cannot be ordered', async () => {
    const offer = await until('an offer', longOffer);
    const maxLots = offer.maxQuantity / offer.lotSize;
    await taker.getByTestId('side-long').click();
    const lots = taker.getByTestId('trade-lots');
    const error = taker.getByTestId('trade-lots-error');
    const submit = taker.getByTestId('trade-submit');
    for (const [text, message] of [
      ['0', /^At least 1 lot$/],
      ['1.5', /^Quantity must be a whole number of lots \(1 to \d+\)$/],
      ['', /^Enter a quantity: 1 to \d+ lots$/],
      [String(maxLots + 1n), new RegExp(`^At most ${maxLots} lots \\(`)],
    ] as const) {
      await lots.fill(text);
      await error.filter({ hasText: message }).waitFor();
      assert.equal(await submit.isDisabled(), true, `${text}: nothing to order`);
      assert.equal(await taker.getByText("Loading the order's numbers").count(), 0);
    }
    await lots.fill('1');
    await error.waitFor({ state: 'detached' });
    await taker.getByTestId('trade-preview').getByTestId('preview-margin').waitFor();
    await until('the button is enabled', async () => !(await submit.isDisabled()));
  });

  it('refuses an order whose price moved beyond the slippage after the dialog froze it, and says so', async () => {
    await taker.getByTestId('trade-slippage').fill('0.5');
    const submit = taker.getByTestId('trade-submit');
    await until('the button is enabled', async () => !(await submit.isDisabled()));
    await submit.click();
    const frozen = await taker.getByTestId('confirm-price').textContent();
    const before = (await until('an offer', longOffer)).price;
    // The market jumps 1 %: the maker re-quotes and the taker's node holds the new offer.
    net.feed.setPrice(parsePrice('50500'));
    await until('the taker holds the maker’s new price', () => {
      const o = longOffer();
      return o && o.price !== before;
    });
    await taker
      .getByTestId('offer-price')
      .filter({ hasNotText: frozen ?? '' })
      .waitFor();
    assert.equal(await taker.getByTestId('confirm-price').textContent(), frozen, 'frozen');
    await taker.getByTestId('confirm-ok').click();
    await taker
      .getByTestId('confirm-error')
      .filter({
        hasText:
          /^the price moved from [\d.]+ to [\d.]+ \(\d\.\d\d %\), beyond your maximum slippage of 0\.50 %$/,
      })
      .waitFor();
    assert.equal(await taker.getByTestId('trade-placed').count(), 0, 'no order placed');
    await taker.getByTestId('confirm-cancel').click();
  });

  it('the maker’s policy: errors beside their fields in words; unpublishing says offers were withdrawn', async () => {
    const spreadBefore = await maker.getByTestId('policy-spread').inputValue();
    await maker.getByTestId('policy-spread').fill('-5');
    await maker.getByTestId('policy-password').fill(PASSWORD);
    await maker.getByTestId('policy-save').click();
    await maker
      .getByTestId('policy-spread-error')
      .filter({ hasText: /^Spread must be 0 or more$/ })
      .waitFor();
    await maker.getByTestId('policy-spread').fill(spreadBefore);
    await maker.getByTestId('policy-publishing').uncheck();
    await maker.getByTestId('policy-password').fill(PASSWORD);
    await maker.getByTestId('policy-save').click();
    await maker
      .getByTestId('policy-saved')
      .filter({ hasText: /^Saved; offers withdrawn: takers see none until you publish again\.$/ })
      .waitFor();
    // The taker sees it too.
    await taker
      .getByTestId('no-offer')
      .filter({ hasText: /withdrawn|no current offers/ })
      .waitFor();
  });
});
