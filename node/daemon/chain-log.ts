/**
 * One info log line per chain milestone of a CFD — its commit, CET (a liquidation's named as
 * such), refund and punish published and confirmed, a revoked commit seen, the lock and a close
 * confirmed — each with the CFD id (`cfd`) and the txid, so a force close, a liquidation or a
 * punish can be followed in the log. Driven by the event log: a milestone is an event, logged
 * once when it is durable, not on each of the rebroadcasts that repeat it every block.
 */
import type { Logger } from 'pino';
import { cfdEvent } from '../../eventstore/cfd-events.ts';
import type { EventStore, RecordedEvent, Subscription } from '../../eventstore/event-store.ts';
import { type Cfd, type CfdEvent, fold } from '../../model/cfd.ts';
import { formatPrice } from '../../model/units.ts';

/** A log line: its level, message and fields besides `cfd`. */
export interface ChainMilestone {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly fields: { readonly txid: string | undefined } & Record<string, unknown>;
}

/** The CET's oracle event and price, and whether it is a liquidation (not the settlement event). */
function cetFields(cfd: Cfd): Record<string, unknown> {
  const a = cfd.attestation;
  if (!a) return {};
  return {
    eventId: a.eventId,
    price: formatPrice(a.price),
    liquidation: a.eventId !== cfd.dlc?.settlementEventId,
  };
}

const cetName = (cfd: Cfd): string =>
  cfd.attestation && cfd.attestation.eventId !== cfd.dlc?.settlementEventId
    ? 'the liquidation CET'
    : 'the CET';

/** The line for `event`, given the CFD as it stands with it applied; undefined if none. */
export function chainMilestone(event: CfdEvent, cfd: Cfd): ChainMilestone | undefined {
  const info = (msg: string, txid: string | undefined, more: Record<string, unknown> = {}) =>
    ({ level: 'info', msg, fields: { txid, ...more } }) as const;
  switch (event.type) {
    case 'LockConfirmed':
      return info('lock confirmed', cfd.dlc?.lockTxid);
    case 'ManualCommit':
      return event.data.byCounterparty
        ? info(
            "the counterparty's commit is in the mempool: following it",
            event.data.commitTx.txid,
          )
        : info('publishing the commit (force close)', event.data.commitTx.txid);
    case 'OracleAttestedBeforeCetTimelock':
      // With a commit: this attestation is what closes the CFD, the CET waits for its lock.
      return event.data.commitTx
        ? info(`publishing the commit for ${cetName(cfd)}`, event.data.commitTx.txid, {
            cet: event.data.cet.txid,
            ...cetFields(cfd),
          })
        : info(`${cetName(cfd)} waits for its timelock`, event.data.cet.txid, cetFields(cfd));
    case 'OracleAttestedAfterCetTimelock':
    case 'CetTimelockExpiredAfterAttestation':
      return info(`publishing ${cetName(cfd)}`, event.data.cet.txid, cetFields(cfd));
    case 'CommitConfirmed': {
      const txid = event.data.txid ?? cfd.dlc?.commitTxid;
      return info('commit confirmed', txid, { ours: txid === cfd.commitTx?.txid });
    }
    case 'CetConfirmed':
      return info(
        `${cetName(cfd).replace(/^the /, '')} confirmed`,
        event.data.txid,
        cetFields(cfd),
      );
    case 'RefundTimelockExpired':
      return info('publishing the refund', event.data.refundTx.txid);
    case 'RefundConfirmed':
      return info('refund confirmed', cfd.refundTx?.txid);
    case 'RevokedCommitSeen':
      return {
        level: 'warn',
        msg: 'a revoked commit is on chain: punishing',
        fields: { txid: event.data.txid },
      };
    case 'PunishPublished':
      return info('publishing the punish', event.data.punishTx.txid, {
        revokedCommit: cfd.revokedCommitSeen,
      });
    case 'PunishConfirmed':
      return info('punish confirmed', cfd.punishTx?.txid);
    case 'CollaborativeSettlementConfirmed':
      return info('close confirmed', cfd.closeTx?.txid);
    default:
      return undefined;
  }
}

const NO_CFD = fold([]);

/** Logs the milestones of every event appended to `store` from now on; close to stop. */
export function logChainMilestones(store: EventStore, logger: Logger): Subscription {
  const log = logger.child({ component: 'chain-log' });
  return store.subscribe(store.head, async (batch: readonly RecordedEvent[]) => {
    for (const recorded of batch) {
      const event = cfdEvent(recorded);
      // Whether it is a milestone at all does not depend on the CFD: skip the rest unread.
      if (!chainMilestone(event, NO_CFD)) continue;
      try {
        // The CFD as it stood with this event applied (later events of the batch not yet).
        const stream = await store.readStream(recorded.streamId);
        const cfd = fold(stream.slice(0, recorded.version).map(cfdEvent));
        const line = chainMilestone(event, cfd);
        if (line) log[line.level]({ cfd: recorded.streamId, ...line.fields }, line.msg);
      } catch (err) {
        // A log line is not worth ending the subscription for.
        log.warn({ err, cfd: recorded.streamId, event: recorded.type }, 'cannot log a milestone');
      }
    }
  });
}
