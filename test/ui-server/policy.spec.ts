// The maker's policy over the API: defaults from the config, partial changes checked field by
// field and across fields, kept across a restart, pushed on the live feed, refused on a taker —
// and applied at once: the offers a taker sees follow a change within a moment.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAKER_POLICY_FILE } from '../../node/daemon/maker-policy.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';
import { ApiClient, Cleanups, SseClient, startMakerAndTaker, startNode, until } from './helpers.ts';

const DEFAULTS = {
  autoAccept: false,
  publishing: true,
  spreadBps: 10,
  minQuantity: '100',
  maxQuantity: '10000',
  lotSize: '100',
  leverageChoices: [1, 2, 3, 5],
  fundingRate: '0.0001',
  openingFee: '2',
  txFeeRate: 1,
};

describe('ui-server: maker policy', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());

  it('shows the config’s policy, needs auth, and is refused on a taker', async () => {
    const maker = await startNode(cleanups, { role: 'maker' });
    const got = await maker.api.get('/api/maker/policy');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, DEFAULTS);

    const anonymous = new ApiClient(maker.ui.url);
    assert.equal((await anonymous.get('/api/maker/policy')).status, 401);
    const put = await anonymous.request('PUT', '/api/maker/policy', { spreadBps: 20 });
    assert.equal(put.status, 401);
    assert.equal((await maker.api.get('/api/maker/policy')).body.spreadBps, 10, 'unchanged');

    // From a browser session, a change needs the password again (scripts with the token not).
    const browser = new ApiClient(maker.ui.url);
    assert.equal((await browser.login(maker.ui.initialPassword!)).res.status, 200);
    const bare = await browser.request('PUT', '/api/maker/policy', { spreadBps: 20 });
    assert.equal(bare.status, 403);
    assert.equal(bare.body.error.name, 'PasswordRequiredError');
    const wrong = await browser.request('PUT', '/api/maker/policy', {
      spreadBps: 20,
      password: 'not-the-password',
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.name, 'InvalidPasswordError');
    assert.equal((await maker.api.get('/api/maker/policy')).body.spreadBps, 10, 'unchanged');
    const right = await browser.request('PUT', '/api/maker/policy', {
      spreadBps: 10,
      password: maker.ui.initialPassword,
    });
    assert.equal(right.status, 200);
    assert.deepEqual(right.body, DEFAULTS);

    const taker = await startNode(cleanups);
    for (const res of [
      await taker.api.get('/api/maker/policy'),
      await taker.api.request('PUT', '/api/maker/policy', { autoAccept: true }),
    ]) {
      assert.equal(res.status, 409);
      assert.equal(res.body.error.name, 'IllegalCommandError');
      assert.match(res.body.error.message, /taker: it has no maker policy/);
    }
  });

  it('changes any subset of fields, refuses bad ones with 400 and keeps the policy across a restart', async () => {
    const dir = await tempDir('dlcfd-policy-');
    cleanups.add(dir.cleanup);
    const first = new Cleanups();
    let maker = await startNode(first, { role: 'maker', datadir: dir.path });
    const live = await SseClient.connect(maker.ui.url, {
      authorization: `Bearer ${maker.api.bearer}`,
    });
    const snapshot = await live.next('policy snapshot', (e) => e.event === 'policy');
    assert.deepEqual(snapshot.data, DEFAULTS);

    const put = await maker.api.request('PUT', '/api/maker/policy', {
      autoAccept: true,
      spreadBps: 25,
      leverageChoices: [5, 1, 10],
      fundingRate: '-0.00050',
      minQuantity: '200',
      maxQuantity: '20000',
      lotSize: '200',
      openingFee: '1000',
      txFeeRate: 3,
    });
    assert.equal(put.status, 200, put.text);
    const changed = {
      autoAccept: true,
      publishing: true,
      spreadBps: 25,
      minQuantity: '200',
      maxQuantity: '20000',
      lotSize: '200',
      leverageChoices: [1, 5, 10],
      fundingRate: '-0.0005',
      openingFee: '1000',
      txFeeRate: 3,
    };
    assert.deepEqual(put.body, changed);
    assert.deepEqual((await maker.api.get('/api/maker/policy')).body, changed);
    const pushed = await live.next(
      'policy event',
      (e) => e.event === 'policy' && e.data.spreadBps === 25,
    );
    assert.deepEqual(pushed.data, changed);
    await live.close();

    const bad: [unknown, RegExp][] = [
      [{ minQuantity: '40000' }, /minQuantity \(40000\) is above maxQuantity \(20000\)/],
      [{ maxQuantity: '20100' }, /maxQuantity \(20100\) is not a multiple of lotSize \(200\)/],
      [{ lotSize: '300' }, /minQuantity \(200\) is not a multiple of lotSize \(300\)/],
      [{ leverageChoices: [1, 7] }, /leverageChoices\.1: each leverage must be one of 1, 2, 3/],
      [{ leverageChoices: [] }, /at least one leverage/],
      [{ leverageChoices: [2, 2] }, /lists a leverage twice/],
      [{ spreadBps: 5000 }, /spreadBps must be at most 1000/],
      [{ spreadBps: -1 }, /spreadBps must not be negative/],
      [{ txFeeRate: 0 }, /txFeeRate must be at least 1/],
      [{ txFeeRate: 5000 }, /txFeeRate must be at most 1000/],
      [{ fundingRate: '0.5' }, /fundingRate must be from -0.01 to 0.01/],
      [{ fundingRate: 'abc' }, /fundingRate must be a decimal/],
      [{ minQuantity: 200 }, /minQuantity must be a whole number, as a string/],
      [{ openingFee: '-1' }, /openingFee must be a whole number/],
      [{ autoAccept: 'yes' }, /autoAccept must be true or false/],
      [{ spread: 10 }, /unrecognized key/i],
      [[], /expected object/],
    ];
    for (const [body, message] of bad) {
      const res = await maker.api.request('PUT', '/api/maker/policy', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.error.name, 'ValidationError');
      assert.match(res.body.error.message, message, JSON.stringify(body));
    }
    assert.deepEqual((await maker.api.get('/api/maker/policy')).body, changed, 'nothing changed');

    // A restart keeps it, even with a config flag that says otherwise (the user's choice wins).
    await first.run();
    const stored = JSON.parse(await readFile(join(dir.path, MAKER_POLICY_FILE), 'utf8'));
    assert.deepEqual(stored, { version: 1, policy: changed });
    maker = await startNode(cleanups, {
      role: 'maker',
      datadir: dir.path,
      flags: { spread: '5' },
    });
    assert.deepEqual((await maker.api.get('/api/maker/policy')).body, changed);
    const off = await maker.api.request('PUT', '/api/maker/policy', { autoAccept: false });
    assert.deepEqual(off.body, { ...changed, autoAccept: false });
  });

  it('applies a change at once: the taker sees the new offers, none while withdrawn', async () => {
    const { maker, taker } = await startMakerAndTaker(cleanups);
    type OfferJson = { id: string; makerPosition: string; price: string; minQuantity: string };
    const takerOffers = async (): Promise<OfferJson[]> =>
      (await taker.api.get('/api/offers')).body.offers;
    await until('taker sees offers', async () => (await takerOffers()).length === 2);
    const before = await takerOffers();
    assert.equal(before[0]!.minQuantity, '100');
    // The maker shows what it sent: the same ids the taker has.
    const own = (await maker.api.get('/api/offers')).body.offers as OfferJson[];
    assert.deepEqual(own.map((o) => o.id).sort(), before.map((o) => o.id).sort());

    // Well under the periodic refresh (60 s): the change itself republishes.
    const changedAt = Date.now();
    const res = await maker.api.request('PUT', '/api/maker/policy', {
      spreadBps: 200,
      minQuantity: '500',
      maxQuantity: '5000',
      lotSize: '500',
      leverageChoices: [2, 10],
    });
    assert.equal(res.status, 200, res.text);
    await until(
      'taker sees the new offers',
      async () => (await takerOffers()).every((o) => o.minQuantity === '500'),
      10_000,
    );
    assert.ok(Date.now() - changedAt < 10_000);
    const after = await takerOffers();
    assert.equal(after.length, 2);
    const short = (list: OfferJson[]) =>
      Number(list.find((o) => o.makerPosition === 'short')!.price);
    const long = (list: OfferJson[]) => Number(list.find((o) => o.makerPosition === 'long')!.price);
    // 2 % either side of the quote instead of 0.1 %.
    assert.ok(short(after) - long(after) > 0.03 * 50_000, `${short(after)} vs ${long(after)}`);
    const offer = (await taker.api.get('/api/offers')).body.offers[0];
    assert.deepEqual(
      offer.leverages.map((l: { leverage: number }) => l.leverage),
      [2, 10],
    );
    assert.equal(offer.lotSize, '500');

    await maker.api.request('PUT', '/api/maker/policy', { publishing: false });
    await until('offers withdrawn', async () => (await takerOffers()).length === 0, 10_000);
    const makerView = (await maker.api.get('/api/offers')).body;
    assert.deepEqual(makerView.offers, []);
    assert.match(makerView.reason, /withdrawn/);
    const health = (await maker.api.get('/api/health')).body.components.find(
      (c: { name: string }) => c.name === 'offers',
    );
    assert.equal(health.status, 'ok', 'withdrawing is a choice, not a fault');
    assert.match(health.detail, /publishing: false/);

    await maker.api.request('PUT', '/api/maker/policy', { publishing: true });
    await until('offers back', async () => (await takerOffers()).length === 2, 10_000);
  });
});
