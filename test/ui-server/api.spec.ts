// The API on real nodes: health, offers, CFDs, the honest 501s of what the protocols bring later,
// input validation, wallet routes without a chain, metrics and the OpenAPI document.
import assert from 'node:assert/strict';
import type { CfdCommand } from '../../model/cfd.ts';
import { explorerTemplate } from '../../node/app/views/health.ts';
import { HEALTH } from '../../node/daemon/daemon.ts';
import { dlc, terms } from '../helpers/cfd-fixtures.ts';
import { Cleanups, startMakerAndTaker, startNode, type TestNode, until } from './helpers.ts';

/** A CFD the node's user just ordered (placed now), in the node's log. */
async function placedOrder(node: TestNode) {
  const t = terms({ placedAt: Math.floor(Date.now() / 1000) });
  await execute(node, t.id, { type: 'placeOrder', terms: t });
  return t;
}

async function execute(node: TestNode, id: string, ...commands: CfdCommand[]): Promise<void> {
  for (const c of commands) {
    const { position } = await node.daemon.cfds.execute(id, c);
    if (position !== undefined) await node.daemon.readModel.waitFor(position);
  }
}

describe('ui-server: API', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  describe('on a node with every service down', () => {
    const shared = new Cleanups();
    let node: TestNode;
    before(async () => {
      node = await startNode(shared);
    });
    after(() => shared.run());
    const api = () => node.api;

    it('says in /api/node where txids link to: the configured explorer, none on regtest', async () => {
      const info = (await api().get('/api/node')).body;
      assert.equal(info.network, 'regtest');
      assert.equal(info.explorer, null);
      const url = 'https://explorer.example/tx/{txid}';
      const other = await startNode(cleanups, { flags: { 'explorer-url': url } });
      assert.equal((await other.api.get('/api/node')).body.explorer, url);
      // Unconfigured mainnet and testnet nodes link to mempool.space.
      assert.equal(explorerTemplate('mainnet', undefined), 'https://mempool.space/tx/{txid}');
      assert.equal(
        explorerTemplate('testnet', undefined),
        'https://mempool.space/testnet/tx/{txid}',
      );
      assert.equal(explorerTemplate('testnet', url), url);
    });

    it('reports every subsystem in /api/health, with what is wrong', async () => {
      const { status, body } = await api().get('/api/health');
      assert.equal(status, 200);
      const names = body.components.map((c: { name: string }) => c.name);
      for (const n of [
        HEALTH.database,
        HEALTH.chain,
        HEALTH.wallet,
        HEALTH.oracle,
        HEALTH.pricefeed,
      ]) {
        assert.ok(names.includes(n), `${n} in ${names}`);
      }
      assert.notEqual(body.overall, 'ok');
      const chain = body.components.find((c: { name: string }) => c.name === HEALTH.chain);
      assert.equal(chain.status, 'down');
      assert.match(chain.detail, /no chain backend configured/);
      assert.equal(typeof chain.since, 'number');
    });

    it('answers wallet routes with 503 and the reason', async () => {
      for (const [method, path, body] of [
        ['GET', '/api/wallet'],
        ['POST', '/api/wallet/address'],
        ['GET', '/api/wallet/history'],
        ['POST', '/api/wallet/withdraw', { address: 'bcrt1qxyz', feeRate: 1 }],
      ] as const) {
        const res = await api().request(method, path, body);
        assert.equal(res.status, 503, `${method} ${path}`);
        assert.equal(res.body.error.name, 'UnavailableError');
        assert.match(
          res.body.error.message,
          /wallet is not available yet: no chain backend configured/,
        );
      }
      // The mnemonic needs the password first, then the wallet.
      const pw = node.ui.initialPassword!;
      assert.equal((await api().post('/api/wallet/mnemonic', { password: 'x' })).status, 403);
      assert.equal((await api().post('/api/wallet/mnemonic', { password: pw })).status, 503);
    });

    it('refuses bad bodies with 400 and a message naming the problem', async () => {
      const cases: [string, unknown, RegExp][] = [
        ['/api/login', {}, /password: password is required/],
        ['/api/login', { password: 'x', extra: 1 }, /unrecognized key.*extra/i],
        ['/api/wallet/withdraw', { address: 'a', feeRate: 1, amount: 1000 }, /amount/],
        ['/api/wallet/withdraw', { address: 'a', feeRate: 0 }, /feeRate/],
        ['/api/wallet/withdraw', { address: 'a', feeRate: 5000 }, /feeRate must be from 1 to 1000/],
        ['/api/wallet/withdraw', { address: 'a', amount: '1.5', feeRate: 1 }, /amount/],
        ['/api/orders', { offerId: 'o', lots: 1, leverage: 0 }, /leverage/],
        ['/api/orders', { offerId: 'o', lots: 1.5, leverage: 2 }, /lots must be a whole number/],
        ['/api/orders', { offerId: 'o', lots: 0, leverage: 2 }, /lots must be at least 1/],
        [
          '/api/orders',
          { offerId: 'o', quantity: '100', leverage: 2 },
          /lots: lots must be a whole number of lots.*unrecognized key.*quantity/i,
        ],
        [
          '/api/orders',
          { offerId: 'o', lots: 1, leverage: 2, maxSlippageBps: -5 },
          /maxSlippageBps must be 0 or more/,
        ],
        ['/api/password', { current: 'x' }, /new: /],
        ['/api/wallet/mnemonic', [], /expected object/],
      ];
      for (const [path, body, message] of cases) {
        const res = await api().post(path, body);
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
        assert.equal(res.body.error.name, 'ValidationError');
        assert.match(res.body.error.message, message, path);
      }
      const badJson = await api().post('/api/login', '{"password":');
      assert.equal(badJson.status, 400);
      assert.equal(badJson.body.error.name, 'ValidationError');
      assert.match(badJson.body.error.message, /JSON/i);
      const text = await api().request('POST', '/api/login', 'password', {
        'content-type': 'application/xml',
      });
      assert.equal(text.status, 415);
      assert.equal(text.body.error.name, 'UnsupportedMediaType');
      const big = await api().post('/api/login', { password: 'x'.repeat(70_000) });
      assert.equal(big.status, 413);
      const unknown = await api().get('/api/nope');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.name, 'NotFound');
    });

    it('lists CFDs with state, actions, margins, liquidation price and fees', async () => {
      const t = await placedOrder(node);
      const list = await api().get('/api/cfds');
      assert.equal(list.status, 200);
      const view = list.body.cfds.find((c: { id: string }) => c.id === t.id);
      assert.equal(view.state, 'pendingSetup');
      assert.deepEqual(view.actions, []);
      // 1000 contracts at 50 000 USD, taker long at 2×: 1000 / (50000 × 2) BTC = 1 000 000 sats.
      assert.equal(view.margin, '1000000');
      assert.equal(view.marginCounterparty, '2000000');
      assert.equal(view.leverage, 2);
      assert.equal(view.initialPrice, '50000');
      assert.equal(view.liquidationPrice, '33333.33333333'); // 50000·2/3
      assert.equal(typeof view.fees.balance, 'string');
      assert.equal(view.profit, null, 'no quote: no P/L rather than a made-up one');
      assert.equal(view.settlementEvent.id, t.oracleEventId);

      const one = await api().get(`/api/cfds/${t.id}`);
      const { payoutCurve, ...detail } = one.body;
      assert.deepEqual(detail, view);
      assert.ok(payoutCurve.length > 10, 'the detail adds the payout chart');
      const missing = await api().get('/api/cfds/no-such-cfd');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.name, 'NotFoundError');
    });

    it('refuses CFD commands illegal in the state (409), and says why a legal one cannot run', async () => {
      const t = await placedOrder(node);
      const closePending = await api().post(`/api/cfds/${t.id}/close`);
      assert.equal(closePending.status, 409);
      assert.equal(closePending.body.error.name, 'IllegalCommandError');
      assert.match(closePending.body.error.message, /it is pendingSetup/);
      assert.equal(
        (await api().post(`/api/cfds/${t.id}/accept`)).status,
        409,
        'a taker accepts nothing',
      );
      assert.equal((await api().post(`/api/cfds/${t.id}/reject`, { reason: 'no' })).status, 409);
      assert.equal((await api().post('/api/cfds/nope/commit')).status, 404);

      await execute(
        node,
        t.id,
        { type: 'startContractSetup' },
        { type: 'completeContractSetup', dlc: dlc() },
        { type: 'confirmLock' },
      );
      const open = await api().get(`/api/cfds/${t.id}`);
      assert.equal(open.body.state, 'open');
      assert.deepEqual(open.body.actions, ['settle', 'commit']);
      assert.deepEqual(open.body.transactions, [{ kind: 'lock', txid: dlc().lockTxid }]);
      // As a browser's fetch sends it: the JSON content type and no body.
      const post = (action: string) =>
        api().request('POST', `/api/cfds/${t.id}/${action}`, undefined, {
          'content-type': 'application/json',
        });
      // This CFD was seeded without a signed contract: nothing to close with or to publish.
      const commit = await post('commit');
      assert.equal(commit.status, 503);
      assert.match(commit.body.error.message, /no signed contract record/);
      // Nothing happened to the CFD.
      assert.equal((await api().get(`/api/cfds/${t.id}`)).body.version, open.body.version);
    });

    it('says why there are no offers, and why an order cannot be placed', async () => {
      const offers = await api().get('/api/offers');
      assert.deepEqual(offers.body, { offers: [], reason: 'no maker configured (--maker)' });
      const order = await api().post('/api/orders', { offerId: 'x', lots: 1, leverage: 2 });
      assert.equal(order.status, 503);
      assert.equal(order.body.error.name, 'UnavailableError');
      assert.match(order.body.error.message, /cannot take an offer now: no maker configured/);
    });

    it('serves Prometheus metrics', async () => {
      const res = await api().get('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(res.text, /^dlcfd_health_status\{component="chain",status="down"\} 1$/m);
      assert.match(res.text, /^dlcfd_health_status\{component="database",status="ok"\} 1$/m);
      assert.match(res.text, /^dlcfd_cfds\{state="pendingSetup"\} \d+$/m);
      assert.match(res.text, /^dlcfd_cfds\{state="open"\} 1$/m);
      assert.match(res.text, /^dlcfd_eventstore_head [1-9]\d*$/m);
      assert.match(res.text, /^# TYPE dlcfd_wallet_balance_sats gauge$/m);
      assert.match(res.text, /^dlcfd_process_cpu_seconds_total /m);
    });

    it('documents every route in /api/openapi.json, and nothing else', async () => {
      const { status, body } = await api().get('/api/openapi.json');
      assert.equal(status, 200);
      assert.equal(body.openapi, '3.1.0');
      const documented = new Set<string>();
      for (const [path, item] of Object.entries(body.paths as Record<string, object>)) {
        for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
      }
      const registered = new Set(
        node.ui.routes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`),
      );
      assert.deepEqual(
        [...registered].filter((r) => !documented.has(r)),
        [],
        'undocumented',
      );
      assert.deepEqual(
        [...documented].filter((r) => !registered.has(r)),
        [],
        'not registered',
      );
      const withdraw =
        body.paths['/api/wallet/withdraw'].post.requestBody.content['application/json'];
      assert.deepEqual(withdraw.schema.required, ['address', 'feeRate']);
      assert.equal(body.paths['/api/alive'].get.security.length, 0, 'public');
    });
  });

  describe('with a maker, a taker and a price feed', () => {
    it('shows the taker the maker’s offers with margin and liquidation price per leverage', async () => {
      const { maker, taker } = await startMakerAndTaker(cleanups);

      await until(
        'maker publishes',
        async () => (await maker.api.get('/api/offers')).body.offers.length === 2,
      );
      const own = (await maker.api.get('/api/offers')).body;
      assert.equal(own.reason, null);
      assert.equal(own.offers[0].maker, maker.daemon.peerId);

      await until(
        'taker sees offers',
        async () => (await taker.api.get('/api/offers')).body.offers.length === 2,
      );
      const { offers } = (await taker.api.get('/api/offers')).body;
      const short = offers.find((o: { makerPosition: string }) => o.makerPosition === 'short');
      assert.equal(short.takerPosition, 'long');
      assert.equal(short.maker, maker.daemon.peerId);
      assert.match(short.price, /^\d+(\.\d+)?$/);
      assert.deepEqual(
        short.leverages.map((l: { leverage: number }) => l.leverage),
        [1, 2, 3, 5],
      );
      const two = short.leverages.find((l: { leverage: number }) => l.leverage === 2);
      const p = Number(short.price);
      // 100 contracts (one lot) at price p, 2×: 100 / (2p) BTC.
      assert.ok(Math.abs(Number(two.marginPerLot) - (100 / (2 * p)) * 1e8) <= 1);
      assert.ok(Math.abs(Number(two.liquidationPrice) - (p * 2) / 3) < 1e-6);
      assert.ok(Math.abs(Number(short.leverages[0].liquidationPrice) - p / 2) < 1e-6);
      const long = offers.find((o: { makerPosition: string }) => o.makerPosition === 'long');
      assert.equal(
        long.leverages[0].liquidationPrice,
        null,
        'an unleveraged short is never liquidated',
      );

      const tooMuch = await taker.api.post('/api/orders', {
        offerId: short.id,
        lots: 10_000,
        leverage: 2,
      });
      assert.equal(tooMuch.status, 400);
      assert.equal(tooMuch.body.error.name, 'QuantityOutOfRangeError');
      assert.match(tooMuch.body.error.message, /^10000 lots is outside the offer's 1…\d+ lots/);
      const badLeverage = await taker.api.post('/api/orders', {
        offerId: short.id,
        lots: 1,
        leverage: 4,
      });
      assert.equal(badLeverage.body.error.name, 'LeverageNotOfferedError');
      const unknown = await taker.api.post('/api/orders', {
        offerId: 'gone',
        lots: 1,
        leverage: 2,
      });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error.message, /no offer 'gone' within the last 600 s/);
      // A valid order is answered with the maker's answer: this maker decides by hand.
      const placing = taker.api.post('/api/orders', { offerId: short.id, lots: 1, leverage: 2 });
      const waiting = await until('the order awaits the maker', async () =>
        (await maker.api.get('/api/cfds')).body.cfds.find((c: { actions: string[] }) =>
          c.actions.includes('rejectOrder'),
        ),
      );
      await maker.api.post(`/api/cfds/${waiting.id}/reject`, { reason: 'not today' });
      const refused = await placing;
      assert.equal(refused.status, 409, refused.text);
      assert.equal(refused.body.error.name, 'OrderRejectedError');
      assert.equal(refused.body.error.message, 'the maker refused the order: not today');
      assert.equal(
        (await maker.api.post('/api/orders', { offerId: 'x', lots: 1, leverage: 1 })).status,
        409,
      );

      // With a quote, an open CFD has an unrealised P/L.
      await until('quote', () => taker.daemon.feed.latest() !== undefined);
      const t = await placedOrder(taker);
      const view = (await taker.api.get(`/api/cfds/${t.id}`)).body;
      assert.equal(view.profit.basis, 'quote');
      assert.equal(view.profit.price, (await taker.api.get('/api/quote')).body.quote.bid);
      assert.match(view.profit.sats, /^-?\d+$/);

      // The chart's history: the quotes so far, oldest first; `since` leaves out the older ones.
      const history = (await taker.api.get('/api/quotes')).body;
      assert.equal(history.resolutionMs, 5_000);
      assert.ok(history.quotes.length >= 1);
      const newest = history.quotes.at(-1);
      assert.match(newest.ask, /^\d+(\.\d+)?$/);
      assert.ok(newest.t <= Date.now() && newest.t > Date.now() - 3_600_000);
      assert.deepEqual(
        (await taker.api.get(`/api/quotes?since=${newest.t}`)).body.quotes.filter(
          (q: { t: number }) => q.t <= newest.t,
        ),
        [],
      );
      const bad = await taker.api.get('/api/quotes?since=yesterday');
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /since must be unix milliseconds/);
    });
  });
});
