// The CFD aggregate as a table: for every state reachable through the lifecycle and every command,
// either the command is legal there and emits exactly the listed events (none for an observation
// already recorded), or it throws a named error and emits nothing.
import assert from 'node:assert/strict';
import {
  actions,
  apply,
  CFD_UI_STATES,
  type Cfd,
  type CfdCommand,
  type CfdEvent,
  type CfdEventType,
  type CfdUiState,
  confirmedCommit,
  decide,
  EMPTY_CFD,
  fold,
  outstandingSignedClose,
  uiState,
} from '../../model/cfd.ts';
import { fundingFee } from '../../model/fees.ts';
import { parse, stringify } from '../../model/json.ts';
import { parseFundingRate, price } from '../../model/units.ts';
import { DAY, dlc, HOUR, sampleCommands, T0, terms, tx } from '../helpers/cfd-fixtures.ts';

type CommandType = CfdCommand['type'];
const NOW = T0 + HOUR;
const base = terms({ id: 'cfd-table' });
const commands = sampleCommands(base);
// `unconfirm` (a reorg) is legal everywhere and rolls back only what a txid confirmed: its own
// describe below, not a column of the table.
const ALL_COMMANDS = (Object.keys(commands) as CommandType[]).filter((c) => c !== 'unconfirm');

function run(
  seq: readonly CommandType[],
  from: Cfd = EMPTY_CFD,
  overrides: Row['overrides'] = {},
): Cfd {
  let cfd = from;
  for (const c of seq) cfd = fold(decide(cfd, overrides[c] ?? commands[c], NOW), cfd);
  return cfd;
}

/** The oracle attests a price past the long taker's liquidation price (2× from 50,000: 33,333.33). */
const liquidatingAttestation = { ...commands.attest, price: price(30_000) };

const setUp: CommandType[] = ['placeOrder', 'startContractSetup', 'completeContractSetup'];
const opened: CommandType[] = [...setUp, 'confirmLock'];
const rolledOver: CommandType[] = [
  ...opened,
  'startRollover',
  'acceptRollover',
  'completeRollover',
];
const committed: CommandType[] = [...opened, 'commit', 'confirmCommit'];
const cetExpired: CommandType[] = [...committed, 'expireCetTimelock'];

/** What every open contract may still do: be force-closed, see its commit, hear the oracle. */
const FORCE_CLOSABLE = {
  commit: ['ManualCommit'],
  confirmCommit: ['CommitConfirmed'],
  attest: ['OracleAttestedBeforeCetTimelock'],
} as const;

/** Observations a contract past its CET timelock has already made: idempotent. */
const COMMIT_SEEN = { confirmLock: [], confirmCommit: [], expireCetTimelock: [] } as const;

/** An open contract: it may roll over, settle, or be force-closed. */
const OPEN = {
  confirmLock: [],
  startRollover: ['RolloverStarted'],
  proposeSettlement: ['CollaborativeSettlementStarted'],
  ...FORCE_CLOSABLE,
} as const;

/** A rollover under way: it may still be rejected, complete or fail. */
const ROLLING = {
  confirmLock: [],
  rejectRollover: ['RolloverRejected'],
  completeRollover: ['RolloverCompleted'],
  failRollover: ['RolloverFailed'],
  ...FORCE_CLOSABLE,
} as const;

/** Attested and past the CET timelock: the CET (or still the refund) may confirm. */
const CET_PENDING = {
  ...COMMIT_SEEN,
  attest: [],
  confirmCet: ['CetConfirmed'],
  confirmRefund: ['RefundConfirmed'],
} as const;

interface Row {
  readonly path: readonly CommandType[];
  readonly ui: CfdUiState;
  /** Legal commands and the event types each emits ([] = idempotent observation). */
  readonly legal: Partial<Record<CommandType, readonly CfdEventType[]>>;
  /** Commands of the path replaced by these (e.g. an attestation at another price). */
  readonly overrides?: Partial<Record<CommandType, CfdCommand>>;
}

/** Attested while open: the commit goes out with the CET (a liquidation or the settlement event). */
const ATTESTED_OPEN: Row['legal'] = {
  confirmLock: [],
  confirmCommit: ['CommitConfirmed'],
  attest: [],
  confirmCet: ['CetConfirmed'],
};
/** The CET is out (attested, timelock passed). */
const CET_OUT: Row['legal'] = CET_PENDING;
/** Settled by the CET. */
const CET_SETTLED: Row['legal'] = { ...COMMIT_SEEN, attest: [], confirmCet: [] };

const table: Record<string, Row> = {
  new: { path: [], ui: 'pendingSetup', legal: { placeOrder: ['OrderPlaced'] } },
  pendingSetup: {
    path: ['placeOrder'],
    ui: 'pendingSetup',
    legal: {
      rejectOrder: ['OrderRejected'],
      startContractSetup: ['ContractSetupStarted'],
      failContractSetup: ['ContractSetupFailed'],
    },
  },
  rejected: { path: ['placeOrder', 'rejectOrder'], ui: 'rejected', legal: {} },
  contractSetup: {
    path: ['placeOrder', 'startContractSetup'],
    ui: 'contractSetup',
    legal: {
      completeContractSetup: ['ContractSetupCompleted'],
      failContractSetup: ['ContractSetupFailed'],
    },
  },
  setupFailed: {
    path: ['placeOrder', 'startContractSetup', 'failContractSetup'],
    ui: 'setupFailed',
    legal: {},
  },
  pendingOpen: {
    path: setUp,
    ui: 'pendingOpen',
    legal: {
      // The lock can never confirm once an input of it is spent elsewhere.
      failContractSetup: ['ContractSetupFailed'],
      confirmLock: ['LockConfirmed'],
      ...FORCE_CLOSABLE,
    },
  },
  open: {
    path: opened,
    ui: 'open',
    legal: OPEN,
  },
  rolloverStarted: {
    path: [...opened, 'startRollover'],
    ui: 'rollover',
    legal: { ...ROLLING, acceptRollover: ['RolloverAccepted'] },
  },
  rolloverAccepted: {
    path: [...opened, 'startRollover', 'acceptRollover'],
    ui: 'rollover',
    legal: ROLLING,
  },
  rolledOver: {
    path: rolledOver,
    ui: 'open',
    legal: { ...OPEN, seeRevokedCommit: ['RevokedCommitSeen'] },
  },
  settlementProposed: {
    path: [...opened, 'proposeSettlement'],
    ui: 'open',
    legal: {
      confirmLock: [],
      acceptSettlement: ['CollaborativeSettlementAccepted'],
      rejectSettlement: ['CollaborativeSettlementRejected'],
      failSettlement: ['CollaborativeSettlementFailed'],
      ...FORCE_CLOSABLE,
    },
  },
  settlementAccepted: {
    path: [...opened, 'proposeSettlement', 'acceptSettlement'],
    ui: 'open',
    legal: {
      confirmLock: [],
      rejectSettlement: ['CollaborativeSettlementRejected'],
      completeSettlement: ['CollaborativeSettlementCompleted'],
      failSettlement: ['CollaborativeSettlementFailed'],
      ...FORCE_CLOSABLE,
    },
  },
  pendingClose: {
    path: [...opened, 'proposeSettlement', 'acceptSettlement', 'completeSettlement'],
    ui: 'pendingClose',
    legal: {
      confirmLock: [],
      confirmSettlement: ['CollaborativeSettlementConfirmed'],
      confirmCommit: ['CommitConfirmed'],
    },
  },
  closedCollaboratively: {
    path: [
      ...opened,
      'proposeSettlement',
      'acceptSettlement',
      'completeSettlement',
      'confirmSettlement',
    ],
    ui: 'closed',
    legal: { confirmLock: [], confirmSettlement: [] },
  },
  pendingCommit: {
    path: [...opened, 'commit'],
    ui: 'pendingCommit',
    legal: {
      confirmLock: [],
      confirmCommit: ['CommitConfirmed'],
      attest: ['OracleAttestedBeforeCetTimelock'],
    },
  },
  openCommitted: {
    path: committed,
    ui: 'openCommitted',
    legal: {
      confirmLock: [],
      confirmCommit: [],
      expireCetTimelock: ['CetTimelockExpiredBeforeAttestation'],
      attest: ['OracleAttestedBeforeCetTimelock'],
      confirmCet: ['CetConfirmed'],
      expireRefundTimelock: ['RefundTimelockExpired'],
      confirmRefund: ['RefundConfirmed'],
    },
  },
  cetTimelockExpired: {
    path: cetExpired,
    ui: 'openCommitted',
    legal: {
      ...COMMIT_SEEN,
      attest: ['OracleAttestedAfterCetTimelock'],
      confirmCet: ['CetConfirmed'],
      expireRefundTimelock: ['RefundTimelockExpired'],
      confirmRefund: ['RefundConfirmed'],
    },
  },
  attestedWhileOpen: { path: [...opened, 'attest'], ui: 'pendingCommit', legal: ATTESTED_OPEN },
  attestedThenTimelock: {
    path: [...committed, 'attest', 'expireCetTimelock'],
    ui: 'pendingCet',
    legal: CET_PENDING,
  },
  pendingCet: { path: [...cetExpired, 'attest'], ui: 'pendingCet', legal: CET_OUT },
  liquidatingWhileOpen: {
    path: [...opened, 'attest'],
    overrides: { attest: liquidatingAttestation },
    ui: 'liquidating',
    legal: ATTESTED_OPEN,
  },
  liquidatingCetOut: {
    path: [...cetExpired, 'attest'],
    overrides: { attest: liquidatingAttestation },
    ui: 'liquidating',
    legal: CET_OUT,
  },
  liquidated: {
    path: [...cetExpired, 'attest', 'confirmCet'],
    overrides: { attest: liquidatingAttestation },
    ui: 'liquidated',
    legal: CET_SETTLED,
  },
  closedByCet: { path: [...cetExpired, 'attest', 'confirmCet'], ui: 'closed', legal: CET_SETTLED },
  pendingRefund: {
    path: [...cetExpired, 'expireRefundTimelock'],
    ui: 'pendingRefund',
    legal: {
      ...COMMIT_SEEN,
      expireRefundTimelock: [],
      confirmCet: ['CetConfirmed'],
      confirmRefund: ['RefundConfirmed'],
    },
  },
  refunded: {
    path: [...cetExpired, 'expireRefundTimelock', 'confirmRefund'],
    ui: 'refunded',
    legal: {
      ...COMMIT_SEEN,
      expireRefundTimelock: [],
      confirmRefund: [],
    },
  },
  revokedCommitSeen: {
    path: [...rolledOver, 'seeRevokedCommit'],
    ui: 'openCommitted',
    legal: { confirmLock: [], seeRevokedCommit: [], publishPunish: ['PunishPublished'] },
  },
  pendingPunish: {
    path: [...rolledOver, 'seeRevokedCommit', 'publishPunish'],
    ui: 'pendingClose',
    legal: {
      confirmLock: [],
      seeRevokedCommit: [],
      replacePunish: ['PunishPublished'],
      confirmPunish: ['PunishConfirmed'],
    },
  },
  punished: {
    path: [...rolledOver, 'seeRevokedCommit', 'publishPunish', 'confirmPunish'],
    ui: 'punished',
    legal: { confirmLock: [], seeRevokedCommit: [], confirmPunish: [] },
  },
};

describe('model/cfd aggregate', () => {
  for (const [name, row] of Object.entries(table)) {
    describe(`in state ${name}`, () => {
      const cfd = run(row.path, EMPTY_CFD, row.overrides);

      it(`shows as ${row.ui}`, () => {
        assert.equal(uiState(cfd), row.ui);
        assert.equal(cfd.version, row.path.length === 0 ? 0 : cfd.version);
      });

      for (const type of ALL_COMMANDS) {
        const expected = row.legal[type];
        if (expected) {
          it(`${type} emits ${expected.length ? expected.join(', ') : 'nothing (already recorded)'}`, () => {
            const events = decide(cfd, commands[type], NOW);
            assert.deepEqual(
              events.map((e) => e.type),
              expected,
            );
          });
        } else {
          it(`${type} is refused with a named error`, () => {
            assert.throws(
              () => decide(cfd, commands[type], NOW),
              (err: Error) =>
                [
                  'IllegalCommandError',
                  'UnknownRevokedCommitError',
                  'UnknownOracleEventError',
                ].includes(err.name) && err.message.length > 0,
            );
          });
        }
      }
    });
  }

  it('every reachable UI state is covered by the table', () => {
    const covered = new Set(Object.values(table).map((r) => r.ui));
    assert.deepEqual([...covered].sort(), [...CFD_UI_STATES].sort());
  });

  it('an attestation for an event without CETs is refused', () => {
    const cfd = run(opened);
    assert.throws(
      () =>
        decide(
          cfd,
          {
            ...commands.attest,
            eventId: '/x/BitMEX/BXBT/2030-01-01T00:00:00.price?n=20',
          } as CfdCommand,
          NOW,
        ),
      { name: 'UnknownOracleEventError' },
    );
  });

  it('a revoked commit the CFD never signed is refused', () => {
    const cfd = run(rolledOver);
    assert.throws(() => decide(cfd, { type: 'seeRevokedCommit', txid: tx('other').txid }, NOW), {
      name: 'UnknownRevokedCommitError',
    });
  });

  describe('a live commit other than the contract the log names (a rollover failed past "pending")', () => {
    const cNew = tx('commit-new');
    const newEvent = dlc(T0 + DAY + HOUR, 9).settlementEventId;
    const at = (cfd: Cfd, c: CfdCommand) => fold(decide(cfd, c, NOW), cfd);

    it('confirmCommit records which commit confirmed; without it, the contract’s (as before)', () => {
      const plain = run([...opened, 'confirmCommit']);
      assert.equal(plain.confirmedCommitTxid, undefined);
      assert.equal(confirmedCommit(plain), dlc().commitTxid);
      const events = decide(run(opened), { type: 'confirmCommit', txid: cNew.txid }, NOW);
      assert.deepEqual(events, [{ type: 'CommitConfirmed', data: { txid: cNew.txid } }]);
      const cfd = fold(events, run(opened));
      assert.equal(cfd.confirmedCommitTxid, cNew.txid);
      assert.equal(confirmedCommit(cfd), cNew.txid);
      assert.equal(uiState(cfd), 'openCommitted');
    });

    it('an OrderPlaced stored before products existed (no symbol) loads as BTCUSD', () => {
      const { symbol: _, ...old } = terms();
      const stored = parse<CfdEvent>(stringify({ type: 'OrderPlaced', data: { terms: old } }));
      assert.equal((stored.data as { terms: { symbol?: string } }).terms.symbol, undefined);
      const cfd = fold([stored]);
      assert.equal(cfd.terms?.symbol, 'BTCUSD');
      // A symbol that is stored is kept.
      const eth = fold([{ type: 'OrderPlaced', data: { terms: terms({ symbol: 'ETHUSD' }) } }]);
      assert.equal(eth.terms?.symbol, 'ETHUSD');
    });

    it('an older CommitConfirmed event without a txid folds as before', () => {
      const cfd = fold([{ type: 'CommitConfirmed', data: {} }], run(opened));
      assert.equal(cfd.commitConfirmed, true);
      assert.equal(cfd.confirmedCommitTxid, undefined);
      assert.equal(confirmedCommit(cfd), dlc().commitTxid);
    });

    it('the same confirmation again emits nothing; another commit or a revoked one is refused', () => {
      const cfd = at(run(opened), { type: 'confirmCommit', txid: cNew.txid });
      assert.deepEqual(decide(cfd, { type: 'confirmCommit', txid: cNew.txid }, NOW), []);
      assert.deepEqual(decide(cfd, { type: 'confirmCommit' }, NOW), []);
      assert.throws(() => decide(cfd, { type: 'confirmCommit', txid: dlc().commitTxid }, NOW), {
        name: 'IllegalCommandError',
      });
      const rolled = run(rolledOver);
      assert.throws(() => decide(rolled, { type: 'confirmCommit', txid: dlc().commitTxid }, NOW), {
        name: 'IllegalCommandError',
      });
    });

    it('an attestation for the live commit’s event is accepted with its events, refused without', () => {
      const cfd = at(at(run(opened), commands.commit), { type: 'confirmCommit', txid: cNew.txid });
      const attest = { ...commands.attest, eventId: newEvent } as CfdCommand;
      assert.throws(() => decide(cfd, attest, NOW), { name: 'UnknownOracleEventError' });
      const ok = decide(cfd, { ...attest, oracleEventIds: [newEvent] } as CfdCommand, NOW);
      assert.equal(ok[0]?.type, 'OracleAttestedBeforeCetTimelock');
    });

    it('a CET prepared on the commit we published is void when another commit confirms', () => {
      // We published C_new with the CET on it; the counterparty's C_old won the race.
      const attested = at(run(opened), {
        ...commands.attest,
        commitTx: cNew,
        eventId: newEvent,
        oracleEventIds: [newEvent],
      } as CfdCommand);
      assert.equal(attested.commitTx?.txid, cNew.txid);
      assert.ok(attested.cet);
      const same = at(attested, { type: 'confirmCommit', txid: cNew.txid });
      assert.ok(same.cet && same.attestation, 'kept when the commit it spends confirmed');
      const other = at(attested, { type: 'confirmCommit', txid: dlc().commitTxid });
      assert.equal(other.cet, undefined);
      assert.equal(other.attestation, undefined);
      assert.equal(confirmedCommit(other), dlc().commitTxid);
      // The attestation is taken again, from the confirmed commit's CETs.
      const again = at(other, commands.attest);
      assert.equal(again.cet?.txid, tx('cet').txid);
    });

    it('a commit revoked only in the contract record is seen when the command says so', () => {
      const cfd = run(opened);
      const cmd = { type: 'seeRevokedCommit', txid: dlc().commitTxid } as const;
      assert.throws(() => decide(cfd, cmd, NOW), { name: 'UnknownRevokedCommitError' });
      const seen = at(cfd, { ...cmd, inRecord: true });
      assert.equal(seen.revokedCommitSeen, dlc().commitTxid);
      assert.equal(uiState(seen), 'openCommitted');
    });
  });

  it('an attestation before the commit carries the commit transaction to publish', () => {
    const [event] = decide(run(opened), commands.attest, NOW);
    assert.equal(event?.type, 'OracleAttestedBeforeCetTimelock');
    assert.deepEqual((event!.data as { commitTx?: unknown }).commitTx, tx('commit-0'));
    const [after] = decide(run([...opened, 'commit']), commands.attest, NOW);
    assert.equal((after!.data as { commitTx?: unknown }).commitTx, undefined);
  });

  it('a rollover charges funding for the hour it moves the settlement event', () => {
    const before = run([...opened, 'startRollover']);
    const [event] = decide(before, commands.completeRollover, NOW);
    assert.equal(event?.type, 'RolloverCompleted');
    const data = event!.data as { funding: { balanceChange: bigint; chargedSecs: number } };
    assert.equal(data.funding.chargedSecs, HOUR);
    const hourly = fundingFee({
      makerPosition: 'short',
      price: base.initialPrice,
      quantity: base.quantity,
      takerLeverage: base.takerLeverage,
      rate: parseFundingRate('0.00024'),
      chargedSecs: HOUR,
      settlementIntervalSecs: DAY,
    });
    assert.ok(hourly > 0n);
    assert.equal(data.funding.balanceChange, hourly); // positive rate: long (the taker) pays
    const after = apply(before, event!);
    assert.equal(after.feeBalance, before.feeBalance + hourly);
    assert.deepEqual(after.revokedCommitTxids, [dlc().commitTxid]);
    assert.equal(after.dlc?.settlementEventId, dlc(T0 + DAY + HOUR, 1).settlementEventId);
  });

  it('a catch-up rollover charges from its base commit: the balance is what the new curve carries', () => {
    // The maker rolled C0 → C1 at one rate, but the taker missed the end of it and rolls over from
    // C0 again, at a new rate. The new curve carries C0's balance plus funding from C0's event at
    // the new rate; the maker's aggregate (on C1) must end there too, not at C1's balance plus the
    // new rate from C1's event.
    const rate = (r: string) => parseFundingRate(r);
    const funding = (r: string, secs: number) =>
      fundingFee({
        makerPosition: 'short',
        price: base.initialPrice,
        quantity: base.quantity,
        takerLeverage: base.takerLeverage,
        rate: rate(r),
        chargedSecs: secs,
        settlementIntervalSecs: DAY,
      });
    const onC0 = run([...opened, 'startRollover']);
    const c1 = dlc(T0 + DAY + HOUR, 1);
    const onC1 = fold(
      decide(onC0, { type: 'completeRollover', dlc: c1, fundingRate: rate('0.00024') }, NOW),
      onC0,
    );
    assert.equal(onC1.feeBalance, onC0.feeBalance + funding('0.00024', HOUR));
    const c2 = dlc(T0 + DAY + 3 * HOUR, 2);
    const catchUp: CfdCommand = {
      type: 'completeRollover',
      dlc: c2,
      fundingRate: rate('0.001'),
      base: { settlementEventId: dlc().settlementEventId, feeBalance: onC0.feeBalance },
      revokedCommitTxids: [dlc().commitTxid, c1.commitTxid],
    };
    const curve = onC0.feeBalance + funding('0.001', 3 * HOUR);
    const makerBefore = run(['startRollover'], onC1);
    const maker = fold(decide(makerBefore, catchUp, NOW), makerBefore);
    const takerBefore = run(['failRollover', 'startRollover'], onC0);
    const taker = fold(decide(takerBefore, catchUp, NOW), takerBefore);
    assert.equal(maker.feeBalance, curve);
    assert.equal(taker.feeBalance, curve);
    // Both know every commit revoked so far, C1 included though the taker never had it as its
    // contract: a publication of it is punishable on either side.
    assert.deepEqual(
      [...maker.revokedCommitTxids].sort(),
      [dlc().commitTxid, c1.commitTxid].sort(),
    );
    assert.deepEqual(
      [...taker.revokedCommitTxids].sort(),
      [dlc().commitTxid, c1.commitTxid].sort(),
    );
    assert.deepEqual(decide(taker, { type: 'seeRevokedCommit', txid: c1.commitTxid }, NOW), [
      { type: 'RevokedCommitSeen', data: { txid: c1.commitTxid } },
    ]);
  });

  it('a late lock confirmation on a CFD that already settled emits nothing', () => {
    // After a restart the monitor may report the lock of a CFD whose CET it saw first.
    const cfd = run([
      ...setUp,
      'commit',
      'confirmCommit',
      'expireCetTimelock',
      'attest',
      'confirmCet',
    ]);
    assert.equal(cfd.lockConfirmed, false);
    assert.equal(uiState(cfd), 'closed');
    assert.deepEqual(decide(cfd, commands.confirmLock, NOW), []);
  });

  it('a close seen on chain after the run failed here settles the CFD at the last proposed price', () => {
    // The taker signed first, the maker's answer never arrived: the taker recorded the failure,
    // the maker broadcast the close. The chain is the judge.
    const failed = run([...opened, 'proposeSettlement', 'failSettlement']);
    assert.equal(uiState(failed), 'open');
    const closeTx = tx('c1');
    assert.throws(
      () => decide(failed, { type: 'confirmSettlement' }, NOW),
      /no collaborative close transaction/,
    );
    const events = decide(failed, { type: 'confirmSettlement', closeTx }, NOW);
    const proposal = (commands.proposeSettlement as { proposal: { price: bigint } }).proposal;
    assert.deepEqual(events, [
      { type: 'CollaborativeSettlementConfirmed', data: { closeTx, price: proposal.price } },
    ]);
    const closed = fold(events, failed);
    assert.equal(uiState(closed), 'closed');
    assert.equal(closed.settled, 'collaborative');
    assert.deepEqual(closed.closeTx, closeTx);
    assert.equal(closed.closePrice, proposal.price);
    // Once the commit confirmed, the lock was not spent by a close.
    assert.throws(
      () => decide(run([...committed]), { type: 'confirmSettlement', closeTx }, NOW),
      /the commit spent the lock/,
    );
  });

  it('a refund is refused once a CET can be published', () => {
    const cfd = run([...cetExpired, 'attest']);
    assert.throws(
      () => decide(cfd, commands.expireRefundTimelock, NOW),
      (e: Error) => /CET is available/.test(e.message),
    );
  });

  describe('actions per role', () => {
    const maker = terms({ id: 'cfd-maker', role: 'maker', position: 'short' });
    const makerCommands = sampleCommands(maker);
    const runAs = (seq: CommandType[]): Cfd =>
      seq.reduce((c, t) => fold(decide(c, makerCommands[t], NOW), c), EMPTY_CFD);

    it('the maker accepts or rejects a pending order; the taker waits', () => {
      assert.deepEqual(actions(runAs(['placeOrder'])), ['acceptOrder', 'rejectOrder']);
      assert.deepEqual(actions(run(['placeOrder'])), []);
    });

    it('an open CFD: the taker may settle or commit, the maker may commit', () => {
      assert.deepEqual(actions(run(opened)), ['settle', 'commit']);
      assert.deepEqual(actions(runAs(opened)), ['commit']);
    });

    it("the maker decides the taker's settlement proposal", () => {
      assert.deepEqual(actions(runAs([...opened, 'proposeSettlement'])), [
        'acceptSettlement',
        'rejectSettlement',
        'commit',
      ]);
      assert.deepEqual(actions(run([...opened, 'proposeSettlement'])), ['commit']);
    });

    it('either side can still get out alone during a rollover', () => {
      assert.deepEqual(actions(run([...opened, 'startRollover'])), ['commit']);
    });

    it('nothing to do once committed or closed', () => {
      for (const seq of [committed, [...cetExpired, 'attest', 'confirmCet']] as CommandType[][]) {
        assert.deepEqual(actions(run(seq)), []);
      }
    });
  });
});

describe('model/cfd: a close this node signed first is bounded', () => {
  const signedClose = { txid: tx('close').txid, until: NOW + 60 };
  const accept = (c: Cfd, command: CfdCommand = { type: 'acceptSettlement', signedClose }) =>
    fold(decide(c, command, NOW), c);
  const signedThenFailed = (): Cfd => {
    const c = accept(run([...opened, 'proposeSettlement']));
    return fold(decide(c, { type: 'failSettlement', reason: 'no answer' }, NOW), c);
  };
  const refused = /close this node signed may be in the counterparty/;

  it('is recorded before the signature leaves and outlives the failed run', () => {
    const cfd = signedThenFailed();
    assert.deepEqual(outstandingSignedClose(cfd), signedClose);
    assert.equal(cfd.settlement, undefined);
  });

  it('no new settlement or rollover while it may be used; no settle action', () => {
    const cfd = signedThenFailed();
    assert.throws(() => decide(cfd, commands.proposeSettlement, NOW), refused);
    assert.throws(() => decide(cfd, commands.startRollover, NOW), refused);
    assert.ok(!actions(cfd).includes('settle'));
    assert.ok(actions(cfd).includes('commit'));
  });

  it('ends with our commit, or with the whole close here', () => {
    const committed = run(['commit'], signedThenFailed());
    assert.equal(outstandingSignedClose(committed), undefined);
    const c = accept(run([...opened, 'proposeSettlement']));
    const completed = fold(decide(c, commands.completeSettlement, NOW), c);
    assert.equal(outstandingSignedClose(completed), undefined);
  });

  it('the maker, signing second, has none; a taker event without one (older logs) is due at once', () => {
    const maker = terms({ id: 'cfd-maker', role: 'maker' });
    let m = fold(decide(EMPTY_CFD, { type: 'placeOrder', terms: maker }, NOW), EMPTY_CFD);
    for (const c of opened.slice(1)) m = fold(decide(m, commands[c], NOW), m);
    m = fold(decide(m, commands.proposeSettlement, NOW), m);
    m = accept(m, { type: 'acceptSettlement' });
    assert.equal(m.signedClose, undefined);
    const legacy = accept(run([...opened, 'proposeSettlement']), { type: 'acceptSettlement' });
    assert.deepEqual(legacy.signedClose, { until: 0 });
  });
});

describe('model/cfd reorgs: a disconnected block rolls back what it confirmed', () => {
  const at = (cfd: Cfd, command: CfdCommand) => fold(decide(cfd, command, NOW), cfd);
  const unconfirm = (cfd: Cfd, txid: string) => at(cfd, { type: 'unconfirm', txid });
  const lockTxid = tx('lock').txid;
  const ours = tx('commit-0').txid;

  it('a reorged lock: the position is pending again, and confirms again', () => {
    const open = run(opened);
    const back = unconfirm(open, lockTxid);
    assert.equal(uiState(back), 'pendingOpen');
    assert.deepEqual(back.reorgedTxids, [lockTxid]);
    assert.equal(uiState(at(back, commands.confirmLock)), 'open');
  });

  it('a reorged commit takes its timelocks with it; our commit and the attested CET stay', () => {
    const cfd = run([...cetExpired, 'attest']);
    assert.equal(uiState(cfd), 'pendingCet');
    const back = unconfirm(cfd, ours);
    assert.equal(back.commitConfirmed, false);
    assert.equal(back.cetTimelockExpired, false);
    assert.equal(back.cet?.txid, cfd.cet?.txid);
    assert.equal(back.commitTx?.txid, ours);
    assert.equal(uiState(back), 'pendingCommit');
    // Confirmed again, the timelock must expire again before the CET goes out.
    const again = at(back, { type: 'confirmCommit', txid: ours });
    assert.equal(again.cetTimelockExpired, false);
    assert.equal(uiState(at(again, commands.expireCetTimelock)), 'pendingCet');
  });

  it('a reorg that swaps which live commit confirmed follows the new one', () => {
    const cfd = run(committed);
    const theirs = tx('commit-theirs').txid;
    // Before the reorg another commit cannot confirm ...
    assert.throws(
      () => decide(cfd, { type: 'confirmCommit', txid: theirs }, NOW),
      /confirmed instead/,
    );
    // ... after it, it does.
    const swapped = at(unconfirm(cfd, ours), { type: 'confirmCommit', txid: theirs });
    assert.equal(confirmedCommit(swapped), theirs);
  });

  it('a reorged CET, refund, punish or close un-settles the CFD and keeps the transaction', () => {
    const cases: [CommandType[], string, CfdUiState][] = [
      [[...cetExpired, 'attest', 'confirmCet'], tx('cet').txid, 'pendingCet'],
      [
        [...cetExpired, 'expireRefundTimelock', 'confirmRefund'],
        tx('refund').txid,
        'pendingRefund',
      ],
      [
        [...rolledOver, 'seeRevokedCommit', 'publishPunish', 'confirmPunish'],
        tx('punish').txid,
        'pendingClose',
      ],
      [
        [
          ...opened,
          'proposeSettlement',
          'acceptSettlement',
          'completeSettlement',
          'confirmSettlement',
        ],
        tx('close').txid,
        'pendingClose',
      ],
    ];
    for (const [path, txid, ui] of cases) {
      const settled = run(path);
      assert.ok(settled.settled, path.at(-1));
      const back = unconfirm(settled, txid);
      assert.equal(back.settled, undefined, path.at(-1));
      assert.equal(uiState(back), ui, path.at(-1));
      // Settled again when it confirms again.
      assert.equal(at(back, commands[path.at(-1)!]).settled, settled.settled);
    }
  });

  it('a reorged lock under a settled CET rolls the whole chain back', () => {
    const settled = run([...cetExpired, 'attest', 'confirmCet']);
    const back = unconfirm(settled, lockTxid);
    assert.equal(back.settled, undefined);
    assert.equal(back.commitConfirmed, false);
    assert.equal(back.lockConfirmed, false);
    assert.equal(uiState(back), 'pendingCommit');
  });

  it('a txid the CFD never saw confirmed emits nothing, twice included', () => {
    const cfd = run(committed);
    assert.deepEqual(decide(cfd, { type: 'unconfirm', txid: tx('nothing').txid }, NOW), []);
    const once = unconfirm(cfd, ours);
    assert.deepEqual(decide(once, { type: 'unconfirm', txid: ours }, NOW), []);
    assert.deepEqual(decide(run(opened), { type: 'unconfirm', txid: tx('cet').txid }, NOW), []);
  });
});
