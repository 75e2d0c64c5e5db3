/**
 * Why a CFD that is not simply open is where it is, and what it waits for (issue #15: "every state
 * that is not Open says why and until when"). Words without times: the view carries the oracle
 * event's time and the blocks left on each timelock, and the UI writes them in the user's clock.
 */
import {
  type Cfd,
  type CfdUiState,
  confirmedCommit,
  liquidation,
  settlementDirection,
} from '../../../model/cfd.ts';
import { oracleEventTime } from '../../../model/oracle-event.ts';
import { formatPrice, type Price } from '../../../model/units.ts';

/** Why a position that is not simply open is where it is, and what it waits for. */
export interface StatusView {
  /** In words, without times (the fields below carry them). */
  readonly reason: string;
  /** Unix seconds of what it waits for (an oracle event); null when it waits for blocks or nothing. */
  readonly untilSecs: number | null;
  /** Blocks until the CET timelock lets the CET out; null when not counting. */
  readonly cetBlocksLeft: number | null;
  /** Blocks until the refund timelock, while no attestation came; null when not counting. */
  readonly refundBlocksLeft: number | null;
}

/** What the status needs of the chain, as the node follows it. */
export interface ChainPosition {
  /** The chain height the node follows. */
  readonly tipHeight?: number | undefined;
  /** The height of the block that confirmed a CFD's transaction, if the node follows it. */
  readonly confirmedAt?: ((cfdId: string, txid: string) => number | undefined) | undefined;
}

/** The status of `cfd` in `state` (model/cfd.ts `uiState`); null while simply open. */
export function statusView(
  cfd: Cfd,
  state: CfdUiState,
  eventTimeSecs: number,
  chain: ChainPosition,
): StatusView | null {
  const t = cfd.terms;
  if (!t) return null;
  const say = (reason: string, more: Partial<StatusView> = {}): StatusView => ({
    reason,
    untilSecs: null,
    cetBlocksLeft: null,
    refundBlocksLeft: null,
    ...more,
  });
  const a = cfd.attestation;
  const timelocks = timelocksLeft(cfd, chain);
  switch (state) {
    case 'open':
      return cfd.settlement
        ? say(
            settlementDirection(cfd) === 'incoming'
              ? `the counterparty proposes a collaborative close at $${usd(cfd.settlement.proposal.price)}`
              : `a collaborative close at $${usd(cfd.settlement.proposal.price)} is being negotiated`,
          )
        : null;
    case 'pendingSetup':
      return say(
        t.role === 'maker'
          ? 'a taker’s order awaits acceptance'
          : 'the order waits for the maker to accept it',
      );
    case 'contractSetup':
      return say('both sides are signing the contract');
    case 'pendingOpen':
      return say('the lock transaction waits for its first confirmation');
    case 'rollover':
      return say('rolling over to the next settlement event', { untilSecs: eventTimeSecs });
    case 'pendingCommit':
      return a
        ? say(
            `the oracle attested $${usd(a.price)}: the commit transaction waits for a confirmation, then the CET timelock runs`,
          )
        : cfd.commitByCounterparty
          ? say(
              'the counterparty force-closed: its commit transaction waits for a confirmation, then the CET timelock runs',
            )
          : say(
              'force close: the commit transaction waits for a confirmation, then the CET timelock runs',
            );
    case 'openCommitted':
      if (cfd.revokedCommitSeen) {
        return say('the counterparty published a revoked commit: it is being punished');
      }
      if (a) {
        return say(`the oracle attested $${usd(a.price)}: waiting for the CET timelock`, {
          cetBlocksLeft: timelocks.cet,
        });
      }
      return say('committed: waiting for the oracle event', {
        untilSecs: eventTimeSecs,
        cetBlocksLeft: timelocks.cet,
        refundBlocksLeft: timelocks.refund,
      });
    case 'pendingCet':
      return say(
        `the CET for the oracle’s $${usd(a?.price)} is published and waits for a confirmation`,
        { untilSecs: a ? oracleEventTime(a.eventId) : null },
      );
    case 'liquidating': {
      const whose = liquidation(cfd) === t.position ? 'this position' : 'the counterparty';
      const step = !confirmedCommit(cfd)
        ? 'the commit transaction waits for a confirmation'
        : !cfd.cetTimelockExpired
          ? 'waiting for the CET timelock'
          : 'the CET is published and waits for a confirmation';
      return say(
        `liquidation: the oracle attested $${usd(a?.price)}, past the liquidation price of ${whose}; ${step}`,
        {
          untilSecs: a ? oracleEventTime(a.eventId) : null,
          cetBlocksLeft: cfd.cetTimelockExpired ? null : timelocks.cet,
        },
      );
    }
    case 'pendingClose':
      return cfd.punishTx
        ? say('the counterparty published a revoked commit: our punish transaction takes it all')
        : say(
            `the collaborative close at $${usd(cfd.closePrice)} is published and waits for a confirmation`,
          );
    case 'pendingRefund':
      return say(
        'the oracle did not attest before the refund timelock: the refund returns both margins and waits for a confirmation',
      );
    case 'closed':
      return cfd.settled === 'collaborative'
        ? say(`closed collaboratively at $${usd(cfd.closePrice)}`)
        : say(`settled by the CET at the oracle’s $${usd(a?.price)}`, {
            untilSecs: a ? oracleEventTime(a.eventId) : null,
          });
    case 'liquidated':
      return say(
        liquidation(cfd) === t.position
          ? `liquidated: the oracle attested $${usd(a?.price)}, past this position’s liquidation price`
          : `the counterparty was liquidated at the oracle’s $${usd(a?.price)}`,
        { untilSecs: a ? oracleEventTime(a.eventId) : null },
      );
    case 'refunded':
      return say('refunded: the oracle did not attest in time; both margins came back');
    case 'punished':
      return say('the counterparty published a revoked commit and lost its margin to this node');
    case 'rejected':
      return say(`rejected: ${cfd.failureReason ?? 'no reason given'}`);
    case 'setupFailed':
      return say(`setup failed: ${cfd.failureReason ?? 'no reason given'}`);
  }
}

/** Blocks left on the CET and refund timelocks of the confirmed commit; null when unknown. */
function timelocksLeft(
  cfd: Cfd,
  chain: ChainPosition,
): { cet: number | null; refund: number | null } {
  const commit = confirmedCommit(cfd);
  const dlc = cfd.dlc;
  const tip = chain.tipHeight;
  const at = commit && cfd.terms ? chain.confirmedAt?.(cfd.terms.id, commit) : undefined;
  if (!dlc || tip === undefined || at === undefined) return { cet: null, refund: null };
  // A timelock of N blocks has passed at N confirmations (node/daemon/chain-reports.ts).
  const confirmations = tip - at + 1;
  const left = (n: number) => Math.max(0, n - confirmations);
  return {
    cet: cfd.cetTimelockExpired ? null : left(dlc.cetTimelock),
    refund: cfd.refundTimelockExpired ? null : left(dlc.refundTimelock),
  };
}

/** A price for a sentence: whole dollars and cents, or "?" when there is none. */
function usd(p: Price | undefined): string {
  if (p === undefined) return '?';
  const [int = '', frac = ''] = formatPrice(p).split('.');
  return `${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac.padEnd(2, '0').slice(0, 2)}`;
}
