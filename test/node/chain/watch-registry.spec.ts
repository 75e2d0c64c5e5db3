/**
 * The watch registry without a chain: what a connected block, a disconnected block and a mempool
 * spend mean for each watch, and that nothing is reported twice.
 */
import assert from 'node:assert/strict';
import { Transaction } from 'bitcoinjs-lib';
import { InvalidWatchError } from '../../../node/chain/errors.ts';
import {
  type ChainReport,
  parseOutpoint,
  WatchRegistry,
} from '../../../node/chain/watch-registry.ts';

/** A transaction spending `spends` (`<txid>:<vout>`), with one output so it is unique by `tag`. */
function tx(tag: number, spends: string[] = []): Transaction {
  const t = new Transaction();
  t.version = 2;
  for (const op of spends) {
    const [txid, vout] = op.split(':');
    t.addInput(Buffer.from(txid!, 'hex').reverse(), Number(vout));
  }
  t.addOutput(Buffer.from([0x6a, 1, tag & 0xff]), BigInt(tag));
  return t;
}

const block = (height: number) => ({ height, hash: height.toString(16).padStart(64, '0') });
const kinds = (reports: ChainReport[]) =>
  reports.map((r) => `${r.kind}${'confirmations' in r ? r.confirmations : ''}`);

describe('node/chain/watch-registry: what the chain means for each watch', () => {
  it('reports each confirmation up to the depth, then the depth; nothing twice', () => {
    const w = new WatchRegistry();
    const t = tx(1);
    w.watchTx(t.getId(), 'cfd', 2, undefined);
    w.connect(block(10), [t]);
    assert.deepEqual(kinds(w.progress(10)), ['confirmed1']);
    assert.deepEqual(kinds(w.progress(10)), [], 'nothing twice');
    w.connect(block(11), []);
    assert.deepEqual(kinds(w.progress(11)), ['confirmed2', 'depth2']);
    w.connect(block(12), []);
    assert.deepEqual(kinds(w.progress(12)), []);
  });

  it('a disconnected confirming block reports unconfirmed, and the watch confirms anew', () => {
    const w = new WatchRegistry();
    const t = tx(2);
    w.watchTx(t.getId(), 'cfd', 6, undefined);
    w.connect(block(10), [t]);
    w.progress(10);
    const reports = w.disconnect(block(10));
    assert.deepEqual(reports, [
      { kind: 'unconfirmed', tag: 'cfd', txid: t.getId(), height: 10, confirmations: 0 },
    ]);
    w.connect({ height: 10, hash: 'ff'.repeat(32) }, [t]);
    assert.deepEqual(kinds(w.progress(10)), ['confirmed1']);
  });

  it('a spend in the mempool, then confirmed, then reorged', () => {
    const w = new WatchRegistry();
    const funding = tx(3);
    const outpoint = `${funding.getId()}:0`;
    const spend = tx(4, [outpoint]);
    w.watchOutpoint(funding.getId(), 0, 'cfd', undefined);
    const open = w.openOutpoints();
    const { fetch } = w.applyMempool(open, {
      spentBy: new Map([[outpoint, spend.getId()]]),
      complete: true,
    });
    assert.deepEqual(
      fetch.map(([, txid]) => txid),
      [spend.getId()],
    );
    w.setMempoolSpender(fetch[0]![0], { txid: spend.getId(), hex: spend.toHex() });
    assert.deepEqual(kinds(w.progress(10)), ['spent0']);
    w.connect(block(11), [spend]);
    assert.deepEqual(kinds(w.progress(11)), ['spent1']);
    assert.deepEqual(kinds(w.disconnect(block(11))), ['spentReorged0']);
    assert.equal(w.openOutpoints().length, 1, 'open again: the mempool may hold the spend');
  });

  it('a spend that left a complete mempool is forgotten; an incomplete one keeps it', () => {
    const w = new WatchRegistry();
    const funding = tx(5);
    const spend = tx(6, [`${funding.getId()}:0`]);
    w.watchOutpoint(funding.getId(), 0, 'cfd', undefined);
    const [watch] = w.openOutpoints();
    w.setMempoolSpender(watch!, { txid: spend.getId(), hex: spend.toHex() });
    const empty = { spentBy: new Map<string, string>() };
    assert.equal(w.applyMempool(w.openOutpoints(), { ...empty, complete: false }).gone.length, 0);
    assert.equal(w.applyMempool(w.openOutpoints(), { ...empty, complete: true }).gone.length, 1);
  });

  it('unreport makes progress report again; held tags wait', () => {
    const w = new WatchRegistry();
    const t = tx(7);
    w.watchTx(t.getId(), 'a', 1, undefined);
    w.connect(block(10), [t]);
    const [first] = w.progress(10);
    assert.equal(w.unreport(first!), true);
    assert.deepEqual(kinds(w.progress(10, { held: (tag) => tag === 'a' })), []);
    assert.deepEqual(kinds(w.progress(10)), ['confirmed1', 'depth1']);
  });

  it('marks what changed for persistence, under the stored keys', () => {
    const w = new WatchRegistry();
    const t = tx(8);
    const key = w.watchTx(t.getId(), 'cfd', 1, undefined);
    assert.equal(key, `tx!${t.getId()}!cfd`);
    w.takeDirty();
    w.connect(block(1), [t]);
    assert.deepEqual(w.takeDirty(), [key]);
    assert.deepEqual(w.removeTag('cfd'), [key]);
    assert.equal(w.size, 0);
  });

  it('refuses what is not an outpoint', () => {
    assert.throws(() => parseOutpoint('abc:0'), InvalidWatchError);
    assert.throws(() => parseOutpoint(`${'a'.repeat(64)}:x`), InvalidWatchError);
    assert.deepEqual(parseOutpoint(`${'A'.repeat(64)}:1`), { txid: 'a'.repeat(64), vout: 1 });
  });
});
