/**
 * The taker's order book across makers (issue #17) and its choices of makers: block, unblock,
 * prefer, stop preferring. Choices are kept in the node's data dir and apply at once; the live
 * feed sends an `offers` event on each, so an open UI fetches the book again.
 */
import { z } from 'zod';
import { BOOK_SYMBOLS } from '../../node/app/views/order-book.ts';
import type { RouteContext } from '../context.ts';
import { PeerParams } from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';

const BookQuery = z.strictObject({
  symbol: z
    .enum(BOOK_SYMBOLS, { error: `symbol must be one of ${BOOK_SYMBOLS.join(', ')}` })
    .default('BTCUSD'),
});

const CHOICES = '`{blocked: string[], preferred: string[]}`: peer ids';

/** One choice route: `verb` on a maker. */
const choice = (
  verb: 'block' | 'unblock' | 'prefer' | 'unprefer',
  summary: string,
  description: string,
  apply: (service: RouteContext['service'], peer: string) => Promise<unknown>,
): ApiRoute =>
  route({
    method: 'post',
    path: `/api/makers/{peerId}/${verb}`,
    summary,
    description: `${description} Answers ${CHOICES}.`,
    params: PeerParams,
    responses: { 200: 'the choices now', 400: 'not a peer id', 409: 'not a taker' },
    response: 'MakerChoices',
    handler: async ({ params, ctx }) => apply(ctx.service, params.peerId),
  });

export const BOOK_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/book',
    summary: 'The order book of one product across makers (taker)',
    description:
      '`?symbol=BTCUSD|ETHUSD` (default BTCUSD). `{symbol, symbols, bestBid, bestAsk, makers, ' +
      'reason}`: `bestBid`/`bestAsk` `{price, maker, offerId, preferred}` or null — the highest ' +
      'price a maker buys at and the lowest it sells at, over makers not blocked, a tie going ' +
      'to a preferred maker; `makers` [{peerId, preferred, blocked, record, offers}] preferred ' +
      'first, blocked last, each with its offers as in GET /api/offers plus `ageSecs`, and its ' +
      'record as this node saw it: `{connected, uptimePercent, firstSeenSecs, lastOfferSecs, ' +
      'setupsCompleted, setupsFailed, setupsRejected, rolloversCompleted, rolloversFailed, ' +
      'rolloversRejected}`; `reason` says why there is no offer (e.g. "no maker offers ETHUSD").',
    query: BookQuery,
    responses: { 200: 'the book', 409: 'a maker has no order book' },
    response: 'OrderBookView',
    handler: async ({ query, ctx }) => ctx.service.book(query.symbol),
  }),
  choice(
    'block',
    'Block a maker (taker): its offers leave the book, orders to it are refused',
    'Kept in the data dir. The node hangs up on the maker and refuses it until unblocked; an ' +
      'order naming one of its offers is refused with 409 MakerBlockedError; its open CFDs stay ' +
      'its own.',
    (s, peer) => s.blockMaker(peer),
  ),
  choice(
    'unblock',
    'Unblock a maker (taker)',
    'The node dials it again (unless `--block` names it).',
    (s, peer) => s.unblockMaker(peer),
  ),
  choice(
    'prefer',
    'Prefer a maker (taker): it wins ties on price in "best"',
    'Unblocks it if it was blocked. POST /api/orders/best and the book’s best bid and ask ' +
      'take a preferred maker’s offer over another at the same price.',
    (s, peer) => s.preferMaker(peer, true),
  ),
  choice(
    'unprefer',
    'Stop preferring a maker (taker)',
    'It stays in the book like any other.',
    (s, peer) => s.preferMaker(peer, false),
  ),
];
