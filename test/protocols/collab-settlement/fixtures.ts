// Contracts for the collab-settlement specs: both sides' CloseContext and an open CFD to settle.
import { randomBytes } from 'node:crypto';
import { lockScript } from '../../../dlc/scripts.ts';
import type { SpentOutput } from '../../../dlc/transactions.ts';
import { type Cfd, type CfdCommand, type DlcSummary, decide, fold } from '../../../model/cfd.ts';
import { margins } from '../../../model/fees.ts';
import { opposite, type Position, price, type Role } from '../../../model/units.ts';
import { type CloseContext, closeTermsOf } from '../../../protocols/collab-settlement/index.ts';
import { dlc, T0, terms } from '../../helpers/cfd-fixtures.ts';
import { type Key, newKey, p2wpkh } from '../../node/chain/helpers.ts';

/** $50,000, 1,000 contracts, taker 2×: margins 1,000,000 (2× side) and 2,000,000 sats (1×). */
export const INITIAL_PRICE = price(50_000);
export const QUANTITY = 1_000n;
export const TAKER_LEVERAGE = 2;

export interface Party {
  readonly identity: Key;
  readonly payout: Key;
}

export function newParty(): Party {
  return { identity: newKey(), payout: newKey() };
}

export interface Contract {
  readonly cfdId: string;
  readonly makerPosition: Position;
  readonly maker: Party;
  readonly taker: Party;
  readonly lock: SpentOutput;
  readonly dlc: DlcSummary;
}

export function lockAmounts(makerPosition: Position): {
  maker: bigint;
  taker: bigint;
  total: bigint;
} {
  return margins({
    makerPosition,
    price: INITIAL_PRICE,
    quantity: QUANTITY,
    takerLeverage: TAKER_LEVERAGE,
  });
}

/**
 * A contract between two fresh parties. `lock` defaults to a made-up outpoint holding both
 * margins in their 2-of-2 (enough for in-memory runs; the node spec passes a confirmed one).
 */
export function newContract(
  over: {
    makerPosition?: Position;
    maker?: Party;
    taker?: Party;
    lockOutpoint?: { txid: string; vout: number };
  } = {},
): Contract {
  const makerPosition = over.makerPosition ?? 'short';
  const maker = over.maker ?? newParty();
  const taker = over.taker ?? newParty();
  const amounts = lockAmounts(makerPosition);
  const outpoint = over.lockOutpoint ?? { txid: randomBytes(32).toString('hex'), vout: 0 };
  const lock: SpentOutput = {
    ...outpoint,
    value: amounts.total,
    witnessScript: lockScript(maker.identity.pub, taker.identity.pub),
  };
  return {
    cfdId: `cfd-${randomBytes(6).toString('hex')}`,
    makerPosition,
    maker,
    taker,
    lock,
    dlc: {
      ...dlc(),
      lockTxid: lock.txid,
      makerLockAmount: amounts.maker,
      takerLockAmount: amounts.taker,
    },
  };
}

/** The commands that take `role`'s CFD of `c` from nothing to open (lock confirmed). */
export function openCommands(c: Contract, role: Role, counterpartyPeerId?: string): CfdCommand[] {
  const position = role === 'maker' ? c.makerPosition : opposite(c.makerPosition);
  return [
    {
      type: 'placeOrder',
      terms: terms({
        id: c.cfdId,
        role,
        position,
        initialPrice: INITIAL_PRICE,
        quantity: QUANTITY,
        takerLeverage: TAKER_LEVERAGE,
        ...(counterpartyPeerId && { counterpartyPeerId }),
      }),
    },
    { type: 'startContractSetup' },
    { type: 'completeContractSetup', dlc: c.dlc },
    { type: 'confirmLock' },
  ];
}

/** Executes commands in memory with the model's own rules (throws on an illegal one). */
export function execute(cfd: Cfd, commands: readonly CfdCommand[]): Cfd {
  let out = cfd;
  for (const command of commands) out = fold(decide(out, command, T0), out);
  return out;
}

/** `role`'s settlement context of `c`: the open CFD's terms and fee balance, the contract's keys. */
export function closeContext(c: Contract, role: Role, cfd: Cfd): CloseContext {
  return {
    ...closeTermsOf(cfd),
    lock: c.lock,
    identities: { maker: c.maker.identity.pub, taker: c.taker.identity.pub },
    ownIdentitySecret: c[role].identity.priv,
    payoutScripts: { maker: p2wpkh(c.maker.payout).output, taker: p2wpkh(c.taker.payout).output },
  };
}
