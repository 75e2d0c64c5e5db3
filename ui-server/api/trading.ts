/** Routes of trading: offers, orders, CFDs and the commands on them, peers. */
import type { z } from 'zod';
import {
  BestOrderBody,
  CfdParams,
  OrderBody,
  PeerParams,
  PreviewBody,
  RejectBody,
} from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';

const sats = 'satoshis as a decimal string';

const decide = (accept: boolean): ApiRoute =>
  route({
    method: 'post',
    path: `/api/cfds/{id}/${accept ? 'accept' : 'reject'}`,
    summary: `${accept ? 'Accept' : 'Reject'} an order or a settlement proposal (maker)`,
    params: CfdParams,
    ...(accept ? {} : { body: RejectBody }),
    responses: {
      200: 'decided',
      404: 'no such CFD, or nothing of it awaits a decision',
      409: `nothing to ${accept ? 'accept' : 'reject'}`,
    },
    handler: async ({ params, body, ctx }) => {
      const reason = (body as z.output<typeof RejectBody>)?.reason ?? '';
      await ctx.service.decide(params.id, accept, reason);
      return { ok: true };
    },
  });

export const TRADING_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/offers',
    summary: 'Offers: a taker’s takeable offers, or a maker’s published ones',
    description:
      '`{offers: [{id, maker, symbol, makerPosition, takerPosition, price, minQuantity, maxQuantity, ' +
      'lotSize, fundingRate, openingFee, txFeeRate, oracleEventId, createdAtSecs, leverages: ' +
      '[{leverage, marginPerLot, liquidationPrice, fundingPerLot}], outsideLimits}], reason}`; ' +
      '`reason` says why there are none; `outsideLimits` (taker) lists why no order on the ' +
      `offer is within the taker's limits (empty: some is). Amounts are ${sats}; prices decimal strings.`,
    responses: { 200: 'offers' },
    response: 'OffersView',
    handler: async ({ ctx }) => ctx.service.offers(),
  }),
  route({
    method: 'post',
    path: '/api/orders',
    summary: 'Take an offer (taker)',
    description:
      '`{offerId, lots, leverage, maxSlippageBps?}`: `offerId` is any offer the maker published ' +
      'within the offer age (600 s) and has not withdrawn — an id copied from GET /api/offers a ' +
      'moment ago still works, though the maker re-quotes about once a second. The contract is ' +
      "made at that offer's price if the maker's current quote for its side is within " +
      '`maxSlippageBps` (default 50: 0.5 %, at most 500) of it, else refused. The answer comes ' +
      'once the maker accepted the order — 202 `{orderId, offerId, price}`: the maker holds it ' +
      'and set its coins aside; setup goes on and reports as `cfd` events on /api/events. A ' +
      'maker deciding by hand answers within 45 s.',
    body: OrderBody,
    responses: {
      202: '`{orderId, offerId, price}`: the maker accepted the order; contract setup under way',
      400: 'the order does not fit the offer (lots, leverage), or is outside the taker’s limits (says which)',
      404: 'no such offer within the offer age',
      409: 'the price moved beyond the slippage (SlippageExceededError), the maker refused the order (OrderRejectedError, with its reason), or not a taker',
      503: 'no offers now, or the maker did not answer in time (MakerNoAnswerError)',
    },
    response: 'PlacedOrder',
    handler: async ({ body, ctx }) => ctx.service.placeOrder(body),
  }),
  route({
    method: 'post',
    path: '/api/orders/best',
    summary: 'Take the best current offer for a side (taker)',
    description:
      '`{side, symbol?, lots, leverage, maxSlippageBps?}`: as POST /api/orders on the best current ' +
      'offer of the product `symbol` (BTCUSD unless given) for the taker’s `side` (long or short); ' +
      'the answer names the offer taken.',
    body: BestOrderBody,
    responses: {
      202: '`{orderId, offerId, price}`: the maker accepted the order; contract setup under way',
      400: 'the order does not fit the offer, or is outside the taker’s limits',
      409: 'the price moved beyond the slippage, the maker refused the order, or not a taker',
      503: 'no offer for that side now (says why), or the maker did not answer in time',
    },
    response: 'PlacedOrder',
    handler: async ({ body, ctx }) => ctx.service.takeBestOffer(body),
  }),
  route({
    method: 'post',
    path: '/api/orders/preview',
    summary: 'What taking an offer would cost (taker): the trade panel’s numbers',
    description:
      '`{offerId, symbol, takerPosition, price, lots, quantity, minLots, maxLots, leverage, margin, ' +
      'counterpartyMargin, liquidationPrice, fundingRate, settlementIntervalSecs, funding, ' +
      'openingFee, txFeeRate, problem, defaultMaxSlippageBps}`: `quantity` is the lots in ' +
      'contracts (USD of notional), for display; orders take `lots`. ' +
      '`funding` is what the taker pays (negative: receives) for the first interval; `problem` ' +
      `says why the order would be refused as it stands, or is null. Amounts are ${sats}.`,
    body: PreviewBody,
    responses: {
      200: 'the preview',
      404: 'no such current offer',
      409: 'not a taker, or the leverage is not offered',
    },
    response: 'OrderPreview',
    handler: async ({ body, ctx }) => ctx.service.previewOrder(body),
  }),
  route({
    method: 'get',
    path: '/api/cfds',
    summary: 'Every CFD, newest first',
    responses: { 200: '`{cfds: CfdView[]}`' },
    response: '{ cfds: CfdView[] }',
    handler: async ({ ctx }) => ({ cfds: await ctx.service.cfds() }),
  }),
  route({
    method: 'get',
    path: '/api/cfds/{id}',
    summary: 'One CFD',
    description:
      'state, actions, quantity, leverage, initialPrice, liquidationPrice, margin, ' +
      'marginCounterparty, fees {balance, owed}, profit {basis, price, payout, sats, percent, ' +
      `stale}, settlementEvent, funding {untilSecs, rolloverUnderWay, nextRolloverSecs, ` +
      `rolloverIntervalSecs, rolloversStalled, autoRolloverPaused {reason, sinceSecs} | null} ` +
      `(open positions: the expiry if no rollover ` +
      `happens, and whether rollovers happen; else null), settlementProposal, closingPrice, ` +
      `signedCloseUntilSecs (a close this node signed that the other side may still hold: unless ` +
      `it is on chain by then the node force-closes; else null), ` +
      `transactions, bumps [{kind, txid, state, rate, targetRate, childTxid, deadlineHeight, ` +
      `blocksLeft, capped, spent, lastError}] (what the node is pushing to confirmation: state ` +
      `waiting, mempool or confirmed; rates sat/vB; capped: the budget or the fee-rate cap holds ` +
      `it below what the deadline needs), bumpBudgetSats, bumpSpentSats, payoutCurve ` +
      `[{price, payout}] (this node's payout by settlement price, a few dozen points). Amounts are ${sats}.`,
    params: CfdParams,
    responses: { 200: 'CfdView', 404: 'no such CFD' },
    response: 'CfdDetail',
    handler: async ({ params, ctx }) => ctx.service.cfdDetail(params.id),
  }),
  route({
    method: 'post',
    path: '/api/cfds/{id}/close',
    summary: 'Close collaboratively at the current quote (taker)',
    description: 'Runs in the background; the outcome arrives as a `cfd` event on /api/events.',
    params: CfdParams,
    responses: { 202: '`{cfdId}`', 404: 'no such CFD', 409: 'not possible in this state' },
    handler: async ({ params, ctx }) => {
      await ctx.service.close(params.id);
      return { cfdId: params.id };
    },
  }),
  route({
    method: 'post',
    path: '/api/cfds/{id}/commit',
    summary: 'Force close: publish the commit transaction',
    description: 'The node then publishes the CET once the oracle attested and its lock passed.',
    params: CfdParams,
    responses: { 202: '`{commitTxid}`', 404: 'no such CFD', 409: 'not possible in this state' },
    handler: async ({ params, ctx }) => ({ commitTxid: await ctx.service.forceClose(params.id) }),
  }),
  route({
    method: 'post',
    path: '/api/cfds/{id}/bump',
    summary: 'Bump now: raise the fees of what the CFD needs confirmed, toward the next block',
    description:
      'Within the bump budget and the fee-rate cap. Answers `{bumps, bumpBudgetSats, ' +
      'bumpSpentSats}` after the attempt, `bumps` as in the CFD view (a failed attempt shows ' +
      `in its \`lastError\`). Amounts are ${sats}.`,
    params: CfdParams,
    responses: {
      200: 'the bumps after the attempt',
      404: 'no such CFD',
      409: 'none of its transactions awaits confirmation',
      503: 'no chain backend, or it does not answer',
    },
    response: 'BumpResult',
    handler: async ({ params, request, ctx }) => {
      const result = await ctx.service.bump(params.id);
      request.log.info({ id: params.id, bumps: result.bumps.length }, 'fees bumped on request');
      return result;
    },
  }),
  decide(true),
  decide(false),
  route({
    method: 'post',
    path: '/api/peers/{peerId}/block',
    summary: 'Refuse a peer in both directions and hang up on it',
    description: 'Until restart; `--block <peer id>` makes it permanent.',
    params: PeerParams,
    responses: { 200: '`{blocked: string[]}`', 400: 'not a peer id' },
    handler: async ({ params, ctx }) => ({ blocked: await ctx.service.blockPeer(params.peerId) }),
  }),
];
