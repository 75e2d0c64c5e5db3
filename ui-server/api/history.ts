/**
 * Routes of the trading history — every position with its funding, and exports — and of the
 * exposure over the open ones.
 */
import { fundingCsv, positionsCsv } from '../../node/app/views/history.ts';
import { HistoryExportQuery } from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';

const sats = 'satoshis as a decimal string';

export const HISTORY_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/history',
    summary: 'Every position with how it went, newest first',
    description:
      '`{positions: [{id, role, position, quantity, leverage, counterparty, state, entryPrice, ' +
      'placedAtSecs, openedAtSecs, closedAtSecs, exitPrice, closedBy, closedHow, margin, payout, ' +
      'realisedPnl, realisedPnlPercent, openingFee, fundingNet, funding, transactions}]}`: ' +
      '`closedBy` is collaborative, forceClose, liquidation, refund, punish, rejected or ' +
      'setupFailed (null while open), `closedHow` the same in words; `funding` lists each charge ' +
      '`{atSecs, kind (open | rollover), rate, chargedSecs, amount, paidBy (long | short), ' +
      'direction (pay | receive | none, from this node)}`; `fundingNet` is what this node paid ' +
      `net (negative: received). Times are unix seconds; amounts are ${sats}.`,
    responses: { 200: 'the history' },
    response: 'HistoryView',
    handler: async ({ ctx }) => ctx.service.positionHistory(),
  }),
  route({
    method: 'get',
    path: '/api/exposure',
    summary: 'Net exposure over the open positions',
    description:
      '`{positions, longContracts, shortContracts, netContracts, marginAtRisk}` over the ' +
      'positions whose coins are in a contract (set up, not ended): USD contracts long and ' +
      `short, long − short, and this node's margin in them (${sats}).`,
    responses: { 200: 'the exposure' },
    response: 'ExposureView',
    handler: async ({ ctx }) => ctx.service.exposure(),
  }),
  route({
    method: 'get',
    path: '/api/history/export',
    summary: 'Download the history: positions or funding as CSV, or everything as JSON',
    description:
      'Query `format` csv (default) or json, and for CSV `table` positions (default: one row ' +
      'per position) or funding (one row per funding charge). Answered as an attachment ' +
      '(`dlcfd-<role>-<table>-<date>.csv`, `dlcfd-<role>-history-<date>.json`); the JSON is ' +
      '`GET /api/history` with `exportedAt` (ISO 8601). CSV times are ISO 8601 (UTC), amounts ' +
      'sats, prices USD.',
    query: HistoryExportQuery,
    produces: 'text/csv',
    responses: { 200: 'the export', 400: 'unknown format or table' },
    handler: async ({ query, reply, ctx }) => {
      const history = await ctx.service.positionHistory();
      const now = new Date();
      const day = now.toISOString().slice(0, 10);
      const role = ctx.service.node().role;
      let name: string;
      let body: string;
      if (query.format === 'json') {
        name = `dlcfd-${role}-history-${day}.json`;
        body = `${JSON.stringify({ exportedAt: now.toISOString(), ...history }, null, 2)}\n`;
        reply.header('content-type', 'application/json; charset=utf-8');
      } else {
        name = `dlcfd-${role}-${query.table}-${day}.csv`;
        body = query.table === 'funding' ? fundingCsv(history) : positionsCsv(history);
        reply.header('content-type', 'text/csv; charset=utf-8');
      }
      reply.header('content-disposition', `attachment; filename="${name}"`);
      reply.header('cache-control', 'no-store');
      return body;
    },
  }),
];
