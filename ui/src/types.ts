// The API's JSON shapes, as ui-server/views.ts sends them (kept by hand: the UI type-checks on its
// own, without the node's types). Sats and prices are decimal strings: the browser displays them
// and never does arithmetic on them. The CFD states and actions are the model's own (type-only).
import type { CfdAction, CfdUiState } from '../../model/cfd.ts';

export type Role = 'maker' | 'taker';
export type Position = 'long' | 'short';
export type HealthStatus = 'starting' | 'ok' | 'degraded' | 'down' | 'stopped';

export interface NodeInfo {
  role: Role;
  peerId: string;
  network: string;
  multiaddrs: string[];
  makers: string[];
  version: string;
  /** Block explorer page of a transaction, `{txid}` where the id goes; null: none (regtest). */
  explorer: string | null;
}

export interface ComponentView {
  name: string;
  status: HealthStatus;
  since: number;
  lastError: { message: string; at: number } | null;
  restarts: number;
  detail: string | null;
}

export interface HealthView {
  overall: HealthStatus;
  components: ComponentView[];
}

export interface QuoteView {
  symbol: string;
  bid: string;
  ask: string;
  timeSecs: number;
  receivedAt: number;
  ageMs: number;
  stale: boolean;
}

/** `GET /api/quotes`, and the live feed's `quotes` event. */
export interface QuoteHistoryView {
  resolutionMs: number;
  windowMs: number;
  /** Oldest first; `t` unix ms. */
  quotes: { t: number; bid: string; ask: string }[];
}

export interface LeverageView {
  leverage: number;
  marginPerLot: string;
  liquidationPrice: string | null;
  fundingPerLot: string;
}

export interface OfferView {
  id: string;
  maker: string;
  symbol: string;
  makerPosition: Position;
  takerPosition: Position;
  price: string;
  minQuantity: string;
  maxQuantity: string;
  lotSize: string;
  fundingRate: string;
  settlementIntervalSecs: number;
  openingFee: string;
  txFeeRate: string;
  oracleEventId: string;
  createdAtSecs: number;
  leverages: LeverageView[];
  /** Taker: why no order on it is within the taker's limits; empty when some order may be. */
  outsideLimits: string[];
}

export interface OffersView {
  offers: OfferView[];
  reason: string | null;
}

/** The model's UI states and actions, type-only (erased from the bundle): one list, not two. */

export type { CfdAction, CfdUiState };

export interface ProfitView {
  basis: 'quote' | 'settlement';
  price: string;
  payout: string;
  sats: string;
  percent: string;
  stale: boolean;
}

export interface CfdView {
  id: string;
  offerId: string;
  role: Role;
  position: Position;
  symbol: string;
  state: CfdUiState;
  actions: CfdAction[];
  quantity: string;
  leverage: number;
  takerLeverage: number;
  initialPrice: string;
  liquidationPrice: string | null;
  margin: string;
  marginCounterparty: string;
  fundingRate: string | null;
  openingFee: string;
  txFeeRate: string;
  fees: { balance: string; owed: string };
  profit: ProfitView | null;
  settlementEvent: { id: string; timeSecs: number };
  /** Open positions only: expiry if no rollover happens, and whether rollovers happen. */
  funding: {
    untilSecs: number;
    rolloverUnderWay: boolean;
    nextRolloverSecs: number | null;
    rolloverIntervalSecs: number;
    rolloversStalled: boolean;
    /** Taker: auto-rollover paused, the maker's rollover terms outside the limits. */
    autoRolloverPaused: { reason: string; sinceSecs: number } | null;
  } | null;
  settlementProposal: {
    direction: 'incoming' | 'outgoing';
    price: string;
    payout: string;
    accepted: boolean;
  } | null;
  closingPrice: string | null;
  settledBy: 'collaborative' | 'cet' | 'refund' | 'punish' | null;
  /** A close we signed may be held by the other side: force-closed unless on chain by then. */
  signedCloseUntilSecs: number | null;
  failureReason: string | null;
  /** This node fails to handle the CFD; retried with backoff, cleared once it succeeds. */
  problem: { during: string; reason: string; sinceSecs: number; retries: number } | null;
  counterparty: string;
  placedAtSecs: number;
  transactions: { kind: string; txid: string }[];
  /** What the node is pushing to confirmation for this CFD, and how each stands. */
  bumps: BumpView[];
  /** Most sats all bumps of one CFD may cost. */
  bumpBudgetSats: string;
  /** Sats this CFD's bumps cost now. */
  bumpSpentSats: string;
  version: number;
}

/** One transaction the fee bumper follows (rates sat/vB, amounts sats, as decimal strings). */
export interface BumpView {
  kind: 'commit' | 'cet' | 'refund' | 'close' | 'punish';
  txid: string;
  state: 'waiting' | 'mempool' | 'confirmed' | 'ended';
  /** Package rate it pays now. */
  rate: string;
  /** What the bump policy asked for at the last block. */
  targetRate: string | null;
  childTxid: string | null;
  deadlineHeight: number;
  blocksLeft: number | null;
  /** The budget or the fee-rate cap held it below what the deadline needs. */
  capped: boolean;
  spent: string;
  lastError: string | null;
}

/** POST /api/cfds/:id/bump. */
export interface BumpResult {
  bumps: BumpView[];
  bumpBudgetSats: string;
  bumpSpentSats: string;
}

/** GET /api/fees: sat/vB as decimal strings; the reading's fields null before the chain answered. */
export interface FeesView {
  rate: string | null;
  source: 'estimatesmartfee' | 'mempool-minimum' | 'fallback' | 'cap' | null;
  target: number | null;
  estimate: string | null;
  floor: string | null;
  cap: string;
  floorAboveCap: boolean | null;
  at: number | null;
  budgetSats: string;
}

export interface CfdDetail extends CfdView {
  payoutCurve?: { price: string; payout: string }[];
}

export interface WalletView {
  network: string;
  balance: { confirmed: string; unconfirmed: string; reserved: string; spendable: string };
  height: number | null;
}

export type WalletState = ({ available: true } & WalletView) | { available: false; reason: string };

export interface WalletTxView {
  txid: string;
  height: number | null;
  received: string;
  sent: string;
  net: string;
}

export interface OrderPreview {
  offerId: string;
  takerPosition: Position;
  price: string;
  lots: number;
  quantity: string;
  minLots: string;
  maxLots: string;
  leverage: number;
  margin: string;
  counterpartyMargin: string;
  liquidationPrice: string | null;
  fundingRate: string;
  settlementIntervalSecs: number;
  funding: string;
  openingFee: string;
  txFeeRate: string;
  problem: string | null;
}

/** The taker's limits (GET/PUT /api/taker/limits). */
export interface TakerLimits {
  maxFundingRate: string;
  maxOpeningFeeBps: number;
  maxTxFeeRate: number;
}

/** The maker's policy (GET/PUT /api/maker/policy). */
export interface MakerPolicy {
  autoAccept: boolean;
  publishing: boolean;
  spreadBps: number;
  minQuantity: string;
  maxQuantity: string;
  lotSize: string;
  leverageChoices: number[];
  fundingRate: string;
  openingFee: string;
  txFeeRate: number;
}
