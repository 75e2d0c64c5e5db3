// The trading history: times from the log, how a position closed in words, its funding charge by
// charge with who paid whom, the exports, and wallet rows named by what they were.
import assert from 'node:assert/strict';
import { type CfdCommand, type CfdEvent, decide, EMPTY_CFD, fold } from '../../../../model/cfd.ts';
import { parseFundingRate, price } from '../../../../model/units.ts';
import { cfdView } from '../../../../node/app/views/cfd.ts';
import {
  fundingCsv,
  type HistoryView,
  positionHistory,
  positionsCsv,
  type TimedEvent,
  walletHistory,
} from '../../../../node/app/views/history.ts';
import { DAY, dlc, HOUR, T0, terms, tx } from '../../../helpers/cfd-fixtures.ts';

/** Runs the commands, recording each one's events a minute after the previous ones. */
function history(...commands: CfdCommand[]) {
  let cfd = EMPTY_CFD;
  const events: TimedEvent[] = [];
  commands.forEach((c, i) => {
    const out: CfdEvent[] = decide(cfd, c, T0);
    cfd = fold(out, cfd);
    for (const event of out) events.push({ event, recordedAt: (T0 + 60 * i) * 1000 + 500 });
  });
  return positionHistory(events, cfdView(cfd, undefined)!);
}

const open = (t = terms()): CfdCommand[] => [
  { type: 'placeOrder', terms: t },
  { type: 'startContractSetup' },
  { type: 'completeContractSetup', dlc: dlc() },
  { type: 'confirmLock' },
];

const rollover = (n: number): CfdCommand[] => [
  { type: 'startRollover', proposedBy: 'taker' },
  { type: 'acceptRollover' },
  {
    type: 'completeRollover',
    dlc: dlc(T0 + DAY + n * HOUR, n),
    fundingRate: parseFundingRate('0.00024'),
  },
];

const collaborative = (at: number): CfdCommand[] => [
  {
    type: 'proposeSettlement',
    proposal: { price: price(at), makerPayout: 1n, takerPayout: 1n, proposedBy: 'taker' },
  },
  { type: 'acceptSettlement' },
  { type: 'completeSettlement', closeTx: tx('close'), price: price(at) },
  { type: 'confirmSettlement' },
];

const cet = (eventId: string, at: number): CfdCommand[] => [
  { type: 'commit', commitTx: tx('commit') },
  { type: 'confirmCommit' },
  { type: 'expireCetTimelock' },
  { type: 'attest', eventId, price: price(at), cet: tx('cet'), commitTx: tx('commit') },
  { type: 'confirmCet', txid: tx('cet').txid },
];

describe('node/app/views/history', () => {
  it('a closed position: opened and closed at the log’s times, exit price, how, realised P/L and each funding charge', () => {
    // 1000 contracts at 50 000, taker long 2×: the short (maker) margin is 2 000 000 sats, so a
    // day of funding at 0.00024 is 480 sats and an hour 20, paid by the long.
    const commands = [...open(), ...rollover(1), ...rollover(2), ...collaborative(52_000)];
    const h = history(...commands);
    assert.equal(h.state, 'closed');
    assert.equal(h.openedAtSecs, T0 + 3 * 60, 'when the lock confirmed (the 4th command)');
    assert.equal(h.closedAtSecs, T0 + (commands.length - 1) * 60, 'when the close confirmed');
    assert.equal(h.entryPrice, '50000');
    assert.equal(h.exitPrice, '52000');
    assert.equal(h.closedBy, 'collaborative');
    assert.equal(h.closedHow, 'collaborative close');
    assert.notEqual(h.realisedPnl, null);
    assert.ok(BigInt(h.realisedPnl!) > 0n, 'the long gained');
    assert.deepEqual(
      h.funding.map((f) => [f.kind, f.amount, f.paidBy, f.direction, f.chargedSecs]),
      [
        ['open', '480', 'long', 'pay', DAY],
        ['rollover', '20', 'long', 'pay', HOUR],
        ['rollover', '20', 'long', 'pay', HOUR],
      ],
    );
    assert.equal(h.funding[1]!.atSecs, T0 + 6 * 60);
    assert.equal(h.funding[1]!.rate, '0.00024');
    assert.equal(h.fundingNet, '520');
    // The maker of the same contract received the same charges.
    const maker = history(
      ...open(terms({ role: 'maker', position: 'short' })),
      ...rollover(1),
      ...collaborative(52_000),
    );
    assert.deepEqual(
      maker.funding.map((f) => [f.direction, f.paidBy]),
      [
        ['receive', 'long'],
        ['receive', 'long'],
      ],
    );
    assert.equal(maker.fundingNet, '-500');
    assert.ok(BigInt(maker.realisedPnl!) < 0n, 'the short lost');
  });

  it('names how each position ended; an open one has no close yet', () => {
    const d = dlc();
    const liquidationEvent = d.oracleEventIds[0]!;
    assert.notEqual(liquidationEvent, d.settlementEventId);
    const how = (...c: CfdCommand[]) => {
      const h = history(...c);
      return [h.closedBy, h.closedHow, h.exitPrice];
    };
    assert.deepEqual(how(...open(), ...cet(d.settlementEventId, 51_000)), [
      'forceClose',
      'force close (CET)',
      '51000',
    ]);
    // An hourly liquidation event has a CET only for a price beyond a liquidation price…
    assert.deepEqual(how(...open(), ...cet(liquidationEvent, 30_000)), [
      'liquidation',
      'liquidation (CET)',
      '30000',
    ]);
    // …and the settlement event at such a price liquidates as well (long 2× at 50 000: 33 333).
    assert.equal(how(...open(), ...cet(d.settlementEventId, 33_000))[0], 'liquidation');
    assert.deepEqual(
      how({ type: 'placeOrder', terms: terms() }, { type: 'rejectOrder', reason: 'x' }),
      ['rejected', 'order rejected', null],
    );
    const stillOpen = history(...open());
    assert.equal(stillOpen.closedBy, null);
    assert.equal(stillOpen.closedAtSecs, null);
    assert.equal(stillOpen.exitPrice, null);
    assert.equal(stillOpen.realisedPnl, null);
  });

  it('exports positions and funding as CSV, quoting what needs it', () => {
    const h = history(...open(), ...rollover(1), ...collaborative(52_000));
    const all: HistoryView = { positions: [h] };
    const [header, row, end] = positionsCsv(all).split('\r\n');
    assert.equal(end, '', 'ends with a line break');
    const cols = header!.split(',');
    const cells = row!.split(',');
    const cell = (name: string) => cells[cols.indexOf(name)];
    assert.equal(cell('id'), h.id);
    assert.equal(cell('exit_price'), '52000');
    assert.equal(cell('closed_how'), 'collaborative close');
    assert.equal(cell('closed_at'), new Date(h.closedAtSecs! * 1000).toISOString());
    assert.equal(cell('realised_pnl_sat'), h.realisedPnl);
    const funding = fundingCsv(all).trim().split('\r\n');
    assert.equal(funding.length, 3, 'a header and two charges');
    assert.match(funding[2]!, new RegExp(`^${h.id},long,[^,]+,rollover,0.00024,3600,20,long,pay$`));
    // A field with a comma or a quote is quoted, its quotes doubled.
    const odd = positionsCsv({ positions: [{ ...h, closedHow: 'a, "b"' }] });
    assert.match(odd, /,"a, ""b""",/);
  });

  it('names wallet transactions: a CFD’s own and its fee bumps by txid, else deposit or withdraw', () => {
    const cfd = history(...open(), ...collaborative(51_000));
    const base = { height: 1, received: '0', sent: '0' };
    const rows = walletHistory(
      [
        { ...base, txid: tx('lock').txid, net: '-1000' },
        { ...base, txid: tx('close').txid, net: '1100' },
        { ...base, txid: 'dd'.repeat(32), net: '5000' },
        { ...base, txid: 'ee'.repeat(32), net: '-700' },
        { ...base, txid: 'ff'.repeat(32), net: '-300' },
      ],
      [
        {
          id: cfd.id,
          transactions: cfd.transactions,
          bumps: [{ childTxid: 'ff'.repeat(32) }],
        } as unknown as Parameters<typeof walletHistory>[1][number],
      ],
    );
    assert.deepEqual(
      rows.map((r) => [r.kind, r.cfdId]),
      [
        ['lock', cfd.id],
        ['close', cfd.id],
        ['deposit', null],
        ['withdraw', null],
        ['feeBump', cfd.id],
      ],
    );
  });
});
