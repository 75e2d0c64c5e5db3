/**
 * The API's OpenAPI 3.1 document, served at `GET /api/openapi.json`. Written by hand; request
 * bodies are generated from the same zod schemas the handlers enforce, and a test checks that
 * every registered route is documented here and nothing else is.
 */
import { z } from 'zod';
import { PreviewBody } from './preview.ts';
import {
  ChangePasswordBody,
  LoginBody,
  MakerPolicyBody,
  MnemonicBody,
  OrderBody,
  RejectBody,
  TakerLimitsBody,
  WithdrawBody,
} from './schemas.ts';

type Json = Record<string, unknown>;

interface Operation {
  readonly summary: string;
  readonly description?: string;
  /** No credentials needed. */
  readonly public?: boolean;
  readonly body?: z.ZodType;
  /** Status → description, besides the error statuses every route may answer. */
  readonly responses: Record<string, string>;
  readonly produces?: string;
}

const sats = 'satoshis as a decimal string';
const LIMITS_SHAPE =
  '`{maxFundingRate, maxOpeningFeeBps, maxTxFeeRate}`: maxFundingRate a decimal string, the ' +
  'largest absolute funding rate per settlement interval; maxOpeningFeeBps basis points of the ' +
  'taker’s margin (0…10000); maxTxFeeRate sat/vB (1…1000).';
const POLICY_SHAPE =
  '`{autoAccept, publishing, spreadBps, minQuantity, maxQuantity, lotSize, leverageChoices, ' +
  'fundingRate, openingFee, txFeeRate}`: quantities (contracts) and openingFee (satoshis) are ' +
  'decimal strings, fundingRate a decimal string per settlement interval (positive: long pays ' +
  'short), txFeeRate sat/vB.';
const cfdId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** Method → operation, per path (OpenAPI syntax: `{id}`). */
const REAUTH =
  ' Needs the UI password again as `password` in the body from a browser session (403 ' +
  'PasswordRequiredError without it, InvalidPasswordError if wrong, 429 TooManyAttemptsError ' +
  'when guessing); optional with the bearer token.';
const REAUTH_RESPONSES = { 403: 'password missing or wrong', 429: 'throttled' } as const;

export const OPERATIONS: Record<string, Record<string, Operation>> = {
  '/api/alive': {
    get: { summary: 'Liveness probe', public: true, responses: { 200: '`{alive: true}`' } },
  },
  '/api/login': {
    post: {
      summary: 'Log in with the UI password',
      description:
        'Sets the session cookie `dlcfd_session_<8 hex>`, named per node (HttpOnly, ' +
        'SameSite=Strict), and a `dlcfd_device` cookie that gives this browser its own ' +
        'guessing budget next time. After 3 wrong passwords in a row a client (that browser, ' +
        'else its address) waits 1 s, doubling per wrong one up to 60 s: 429 ' +
        'TooManyAttemptsError with Retry-After, and parallel attempts of one client are ' +
        'refused while one is checked.',
      public: true,
      body: LoginBody,
      responses: { 200: '`{authenticated: true}`', 401: 'wrong password', 429: 'throttled' },
    },
  },
  '/api/logout': {
    post: { summary: 'End this session', responses: { 200: '`{authenticated: false}`' } },
  },
  '/api/session': {
    get: {
      summary: 'Whether the request is authenticated, and how',
      responses: { 200: "`{authenticated: true, method: 'session' | 'bearer'}`" },
    },
  },
  '/api/password': {
    post: {
      summary: 'Change the UI password (re-authenticate with the current one)',
      description: 'Ends every other session.',
      body: ChangePasswordBody,
      responses: {
        200: '`{changed: true}`',
        403: 'wrong current password',
        429: 'throttled',
      },
    },
  },
  '/api/node': {
    get: {
      summary: 'This node: role, peer id, network, addresses, makers, version, explorer',
      description:
        '`{role, peerId, network, multiaddrs, makers, version, explorer}`: `explorer` is the ' +
        'block explorer page of a transaction with `{txid}` where its id goes (`--explorer-url`; ' +
        'default mempool.space on mainnet and testnet), or null (regtest without one).',
      responses: { 200: 'node info' },
    },
  },
  '/api/health': {
    get: {
      summary: 'Health of every subsystem',
      description:
        '`{overall, components: [{name, status, since, lastError, restarts, detail}]}`; status ' +
        'is one of starting, ok, degraded, down, stopped.',
      responses: { 200: 'health' },
    },
  },
  '/api/fees': {
    get: {
      summary: 'The fee market as the node reads it, and what it pays',
      description:
        '`{rate, source, target, estimate, floor, cap, floorAboveCap, at, budgetSats}`: rate, ' +
        'estimate, floor (the mempool minimum) and cap in sat/vB as decimal strings; `source` is ' +
        'what decided the rate (estimatesmartfee, mempool-minimum, fallback or cap); `target` the ' +
        'confirmation target in blocks; `at` unix ms of the reading; `budgetSats` the most the ' +
        'bumps of one CFD may cost. Before the chain answered once, every field of the reading is ' +
        'null (`cap` and `budgetSats` come from the configuration).',
      responses: { 200: 'fees' },
    },
  },
  '/api/quote': {
    get: {
      summary: 'Latest price feed quote',
      responses: {
        200: '`{quote: {symbol, bid, ask, timeSecs, receivedAt, ageMs, stale} | null}`',
      },
    },
  },
  '/api/quotes': {
    get: {
      summary: 'Recent quotes, for a price chart',
      description:
        'Kept in memory since the node started: one point per `resolutionMs` (the last quote of ' +
        'each interval) over the last `windowMs` (default 5 s over 1 h). Query `since` (unix ms): ' +
        'only points received after it. The live feed sends the same as its `quotes` event on ' +
        'connect.',
      responses: {
        200: '`{resolutionMs, windowMs, quotes: [{t, bid, ask}]}`: oldest first, `t` unix ms',
        400: '`since` is not unix milliseconds',
      },
    },
  },
  '/api/openapi.json': { get: { summary: 'This document', responses: { 200: 'OpenAPI 3.1' } } },
  '/api/events': {
    get: {
      summary: 'Live feed (server-sent events)',
      description:
        'Snapshot on connect (`health`, `cfds`, `offers`, `quote`, `wallet`, on a maker ' +
        '`policy`, on a taker `limits`, and `quotes`: the chart history as `GET /api/quotes`), then `health`, `cfd`, `offers`, `quote` (throttled), `wallet`, `policy` and `limits` ' +
        'events as they happen; heartbeat comments.',
      produces: 'text/event-stream',
      responses: { 200: 'event stream' },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics',
      produces: 'text/plain',
      responses: { 200: 'Prometheus text format' },
    },
  },
  '/api/offers': {
    get: {
      summary: 'Offers: a taker’s takeable offers, or a maker’s published ones',
      description:
        '`{offers: [{id, maker, makerPosition, takerPosition, price, minQuantity, maxQuantity, ' +
        'lotSize, fundingRate, openingFee, txFeeRate, oracleEventId, createdAtSecs, leverages: ' +
        '[{leverage, marginPerLot, liquidationPrice, fundingPerLot}], outsideLimits}], reason}`; ' +
        '`reason` says why there are none; `outsideLimits` (taker) lists why no order on the ' +
        `offer is within the taker's limits (empty: some is). Amounts are ${sats}; prices decimal strings.`,
      responses: { 200: 'offers' },
    },
  },
  '/api/orders': {
    post: {
      summary: 'Take an offer (taker)',
      description:
        'Validated against the offer, then contract setup runs in the background: the answer is ' +
        '`{orderId}` at once, progress arrives as `cfd` events on /api/events.',
      body: OrderBody,
      responses: {
        202: '`{orderId}`: contract setup started',
        400: 'the order does not fit the offer, or the offer is outside the taker’s limits (says which)',
        404: 'no such current offer',
        409: 'not a taker',
      },
    },
  },
  '/api/orders/preview': {
    post: {
      summary: 'What taking an offer would cost (taker): the trade panel’s numbers',
      description:
        '`{offerId, takerPosition, price, lots, quantity, minLots, maxLots, leverage, margin, ' +
        'counterpartyMargin, liquidationPrice, fundingRate, settlementIntervalSecs, funding, ' +
        'openingFee, txFeeRate, problem}`: `quantity` (contracts) goes into `POST /api/orders`; ' +
        '`funding` is what the taker pays (negative: receives) for the first interval; `problem` ' +
        `says why the order would be refused as it stands, or is null. Amounts are ${sats}.`,
      body: PreviewBody,
      responses: {
        200: 'the preview',
        404: 'no such current offer',
        409: 'not a taker, or the leverage is not offered',
      },
    },
  },
  '/api/cfds': {
    get: { summary: 'Every CFD, newest first', responses: { 200: '`{cfds: CfdView[]}`' } },
  },
  '/api/cfds/{id}': {
    get: {
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
      responses: { 200: 'CfdView', 404: 'no such CFD' },
    },
  },
  '/api/cfds/{id}/close': {
    post: {
      summary: 'Close collaboratively at the current quote (taker)',
      description: 'Runs in the background; the outcome arrives as a `cfd` event on /api/events.',
      responses: { 202: '`{cfdId}`', 404: 'no such CFD', 409: 'not possible in this state' },
    },
  },
  '/api/cfds/{id}/commit': {
    post: {
      summary: 'Force close: publish the commit transaction',
      description: 'The node then publishes the CET once the oracle attested and its lock passed.',
      responses: { 202: '`{commitTxid}`', 404: 'no such CFD', 409: 'not possible in this state' },
    },
  },
  '/api/cfds/{id}/bump': {
    post: {
      summary: 'Bump now: raise the fees of what the CFD needs confirmed, toward the next block',
      description:
        'Within the bump budget and the fee-rate cap. Answers `{bumps, bumpBudgetSats, ' +
        'bumpSpentSats}` after the attempt, `bumps` as in the CFD view (a failed attempt shows ' +
        `in its \`lastError\`). Amounts are ${sats}.`,
      responses: {
        200: 'the bumps after the attempt',
        404: 'no such CFD',
        409: 'none of its transactions awaits confirmation',
        503: 'no chain backend, or it does not answer',
      },
    },
  },
  '/api/cfds/{id}/accept': {
    post: {
      summary: 'Accept an order or a settlement proposal (maker)',
      responses: {
        200: 'decided',
        404: 'no such CFD, or nothing of it awaits a decision',
        409: 'nothing to accept',
      },
    },
  },
  '/api/cfds/{id}/reject': {
    post: {
      summary: 'Reject an order or a settlement proposal (maker)',
      body: RejectBody,
      responses: {
        200: 'decided',
        404: 'no such CFD, or nothing of it awaits a decision',
        409: 'nothing to reject',
      },
    },
  },
  '/api/maker/policy': {
    get: {
      summary: 'The maker’s policy (maker)',
      description: POLICY_SHAPE,
      responses: { 200: 'the policy', 409: 'a taker has no maker policy' },
    },
    put: {
      summary: 'Change the maker’s policy (maker); applies at once',
      description:
        'Any subset of the fields. The result must hold together: minQuantity ≤ maxQuantity, ' +
        'both multiples of lotSize; leverages from 1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100; ' +
        'spreadBps 0…1000; fundingRate within ±0.01; txFeeRate 1…1000 sat/vB. The policy is ' +
        'kept in the data dir and wins over the config from then on; offers are republished ' +
        'at once (`publishing: false` withdraws them) and a `policy` event goes out on ' +
        `/api/events. Answers the whole new policy.${REAUTH} ${POLICY_SHAPE}`,
      body: MakerPolicyBody,
      responses: {
        200: 'the new policy',
        ...REAUTH_RESPONSES,
        409: 'a taker has no maker policy',
      },
    },
  },
  '/api/taker/limits': {
    get: {
      summary: 'The taker’s limits (taker)',
      description: LIMITS_SHAPE,
      responses: { 200: 'the limits', 409: 'a maker has no taker limits' },
    },
    put: {
      summary: 'Change the taker’s limits (taker); applies at once',
      description:
        'Any subset of the fields. Offers outside the limits are marked in `/api/offers` ' +
        '(`outsideLimits`) and an order on one is refused (400, FundingRateAboveLimitError, ' +
        'OpeningFeeAboveLimitError or TxFeeRateAboveLimitError, with the reason); a rollover ' +
        'whose terms are outside them is refused and that CFD’s auto-rollover pauses ' +
        '(`funding.autoRolloverPaused`) until the limits change or the maker’s terms come back ' +
        'within them. Kept in the data dir; wins over the config from then on; a `limits` event ' +
        `goes out on /api/events. Answers the whole new limits.${REAUTH} ${LIMITS_SHAPE}`,
      body: TakerLimitsBody,
      responses: {
        200: 'the new limits',
        ...REAUTH_RESPONSES,
        409: 'a maker has no taker limits',
      },
    },
  },
  '/api/peers/{peerId}/block': {
    post: {
      summary: 'Refuse a peer in both directions and hang up on it',
      description: 'Until restart; `--block <peer id>` makes it permanent.',
      responses: { 200: '`{blocked: string[]}`', 400: 'not a peer id' },
    },
  },
  '/api/wallet': {
    get: {
      summary: 'Wallet balance',
      description: `\`{network, balance: {confirmed, unconfirmed, reserved, spendable}, height}\` (${sats}).`,
      responses: { 200: 'wallet', 503: 'wallet not available yet (says why)' },
    },
  },
  '/api/wallet/address': {
    post: {
      summary: 'A fresh receive address',
      responses: { 200: '`{address}`', 503: 'wallet not available' },
    },
  },
  '/api/wallet/history': {
    get: {
      summary: 'Wallet transactions, newest first',
      responses: {
        200: '`{transactions: [{txid, height, received, sent, net}]}`',
        503: 'wallet not available',
      },
    },
  },
  '/api/wallet/withdraw': {
    post: {
      summary: 'Withdraw to an address',
      description:
        'Syncs, signs (RBF), broadcasts and checks the transaction reached the mempool. ' +
        `Answers \`{txid, amount, fee, vsize, status}\`.${REAUTH}`,
      body: WithdrawBody,
      responses: {
        200: 'broadcast',
        ...REAUTH_RESPONSES,
        400: 'bad address (e.g. another network), dust, insufficient funds',
        502: 'the chain backend refused the transaction',
        503: 'wallet or chain not available',
      },
    },
  },
  '/api/wallet/mnemonic': {
    post: {
      summary: 'Export the wallet mnemonic (re-authenticate with the password)',
      body: MnemonicBody,
      responses: {
        200: '`{mnemonic, words}`',
        403: 'wrong password',
        429: 'throttled',
        503: 'no wallet',
      },
    },
  },
};

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['name', 'message'],
      properties: { name: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

function bodySchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Json;
  return rest;
}

/** Builds the document. */
export function openApiDocument(version: string, sessionCookie = 'dlcfd_session_<8 hex>'): Json {
  const paths: Json = {};
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    const item: Json = {};
    for (const [method, op] of Object.entries(methods)) {
      const responses: Json = {};
      for (const [status, description] of Object.entries(op.responses)) {
        const ok = status.startsWith('2');
        responses[status] = {
          description,
          content: ok
            ? { [op.produces ?? 'application/json']: {} }
            : { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
      if (op.body) responses['400'] ??= { description: 'invalid body (the message says why)' };
      if (!op.public) responses['401'] ??= { description: 'not authenticated' };
      item[method] = {
        summary: op.summary,
        ...(op.description ? { description: op.description } : {}),
        ...(path.includes('{id}') ? { parameters: [cfdId] } : {}),
        ...(op.public ? { security: [] } : {}),
        ...(op.body
          ? {
              requestBody: {
                required: !op.body.safeParse(undefined).success,
                content: { 'application/json': { schema: bodySchema(op.body) } },
              },
            }
          : {}),
        responses,
      };
    }
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'dlcfd node API',
      version,
      description:
        'HTTP API of a dlcfd taker or maker. Authenticate with the session cookie from ' +
        '`POST /api/login`, or `Authorization: Bearer <contents of <datadir>/api.cookie>`. ' +
        'Errors are `{error: {name, message}}`. Amounts in satoshis and prices are decimal strings. ' +
        'Every request must name the node in Host (its address, localhost, 127.0.0.1, [::1] or ' +
        'a `--ui-allowed-host`; else 421 HostNotAllowedError), and a POST/PUT/PATCH/DELETE with ' +
        'the session cookie must come from the UI’s own Origin (else 403 CrossOriginRequestError); ' +
        'bearer-token requests are exempt from the Origin check.',
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: sessionCookie },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ session: [] }, { bearer: [] }],
    paths,
  };
}
