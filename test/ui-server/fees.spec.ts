// Fees in the API: the fee market the node reads (GET /api/fees), the fee bumper's transactions in
// a CFD's view, and "bump now" (POST /api/cfds/:id/bump) — on a real node without a chain.
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import type { CfdCommand } from '../../model/cfd.ts';
import { bumpView } from '../../node/app/views/cfd.ts';
import { feesView } from '../../node/app/views/fees.ts';
import { terms } from '../helpers/cfd-fixtures.ts';
import { ApiClient, Cleanups, startNode, type TestNode } from './helpers.ts';

async function execute(node: TestNode, id: string, ...commands: CfdCommand[]): Promise<void> {
  for (const c of commands) {
    const { position } = await node.daemon.cfds.execute(id, c);
    if (position !== undefined) await node.daemon.readModel.waitFor(position);
  }
}

/** A signed-looking transaction: one input, one output (the bumper only reads its size). */
function someTx(): { txid: string; hex: string } {
  const tx = new Transaction();
  tx.version = 2;
  tx.addInput(Buffer.alloc(32, 7), 0);
  tx.addOutput(Buffer.from('0014'.padEnd(44, 'ab'), 'hex'), 90_000n);
  return { txid: tx.getId(), hex: tx.toHex() };
}

describe('ui-server: fees and bumps', function () {
  this.timeout(60_000);
  const cleanups = new Cleanups();
  let node: TestNode;
  before(async () => {
    node = await startNode(cleanups, { flags: { 'max-fee-rate': '300', 'bump-budget': '5000' } });
  });
  after(() => cleanups.run());

  it('GET /api/fees: the configured cap and budget, and nulls before the chain answered', async () => {
    const res = await node.api.get('/api/fees');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      rate: null,
      source: null,
      target: null,
      estimate: null,
      floor: null,
      cap: '300',
      floorAboveCap: null,
      at: null,
      budgetSats: '5000',
    });
  });

  it('shows a reading with its source, as decimal strings', () => {
    const view = feesView(
      {
        rate: 12n,
        source: 'estimatesmartfee',
        target: 3,
        estimate: 12n,
        floor: 1n,
        cap: 300n,
        floorAboveCap: false,
        byTarget: { 3: 12n },
        at: 1_700_000_000_000,
      },
      300n,
      5000n,
    );
    assert.deepEqual(view, {
      rate: '12',
      source: 'estimatesmartfee',
      target: 3,
      estimate: '12',
      floor: '1',
      cap: '300',
      floorAboveCap: false,
      at: 1_700_000_000_000,
      budgetSats: '5000',
    });
    assert.equal(feesView({ ...sample(), estimate: undefined }, 300n, 0n).estimate, null);
  });

  it('a CFD view carries its bumps, the budget and what was spent; bump-now answers 404/409/503', async () => {
    const t = terms({ placedAt: Math.floor(Date.now() / 1000) });
    await execute(node, t.id, { type: 'placeOrder', terms: t });
    const before = await node.api.get(`/api/cfds/${t.id}`);
    assert.deepEqual(before.body.bumps, []);
    assert.equal(before.body.bumpBudgetSats, '5000');
    assert.equal(before.body.bumpSpentSats, '0');
    const listed = (await node.api.get('/api/cfds')).body.cfds.find(
      (c: { id: string }) => c.id === t.id,
    );
    assert.deepEqual(listed.bumps, []);
    assert.equal(listed.bumpBudgetSats, '5000');

    assert.equal((await node.api.post('/api/cfds/no-such-cfd/bump')).status, 404);
    const nothing = await node.api.post(`/api/cfds/${t.id}/bump`);
    assert.equal(nothing.status, 409);
    assert.equal(nothing.body.error.name, 'IllegalCommandError');
    assert.match(nothing.body.error.message, /nothing of CFD .* awaits confirmation/);

    // The bumper follows one of its transactions (as the process manager does once published).
    const commit = someTx();
    node.daemon.bumper.follow({ cfdId: t.id, kind: 'commit', tx: commit, fee: 10_000n });
    const followed = await node.api.get(`/api/cfds/${t.id}`);
    assert.equal(followed.body.bumps.length, 1);
    const b = followed.body.bumps[0];
    assert.equal(b.kind, 'commit');
    assert.equal(b.txid, commit.txid);
    assert.equal(b.state, 'waiting');
    assert.equal(typeof b.rate, 'string');
    assert.equal(typeof b.spent, 'string');
    assert.equal(b.targetRate, null);
    assert.equal(b.childTxid, null);
    assert.equal(b.capped, false);
    assert.equal(b.lastError, null);
    assert.equal(typeof b.deadlineHeight, 'number');
    // Something to bump, but no chain to bump it on: 503 with the reason.
    const noChain = await node.api.post(`/api/cfds/${t.id}/bump`);
    assert.equal(noChain.status, 503);
    assert.equal(noChain.body.error.name, 'UnavailableError');
    assert.match(noChain.body.error.message, /cannot bump the fees now: .*chain backend/);
    node.daemon.bumper.forget(t.id);
  });

  it('needs credentials like every other route', async () => {
    const anon = new ApiClient(node.ui.url);
    assert.equal((await anon.get('/api/fees')).status, 401);
    const res = await anon.post('/api/cfds/x/bump');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.name, 'UnauthorizedError');
  });

  it('projects a bump status with rates and sats as strings', () => {
    assert.deepEqual(
      bumpView({
        kind: 'cet',
        txid: 'a'.repeat(64),
        state: 'mempool',
        rate: 7n,
        targetRate: 20n,
        childTxid: 'b'.repeat(64),
        deadlineHeight: 812,
        blocksLeft: 4,
        capped: true,
        spent: 3210n,
        lastError: 'min relay fee not met',
      }),
      {
        kind: 'cet',
        txid: 'a'.repeat(64),
        state: 'mempool',
        rate: '7',
        targetRate: '20',
        childTxid: 'b'.repeat(64),
        deadlineHeight: 812,
        blocksLeft: 4,
        capped: true,
        spent: '3210',
        lastError: 'min relay fee not met',
      },
    );
  });
});

function sample() {
  return {
    rate: 5n,
    source: 'mempool-minimum' as const,
    target: 3,
    estimate: 2n as bigint | undefined,
    floor: 5n,
    cap: 300n,
    floorAboveCap: false,
    byTarget: {},
    at: 0,
  };
}
