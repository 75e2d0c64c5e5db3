/**
 * The maker's policy and the taker's limits: GET shows them, PUT changes any of their fields. A
 * change is written to the node's data dir and applies at once. The other role has none and gets a
 * 409 saying so — before the body is even read.
 */
import { reauthenticate } from '../context.ts';
import { MakerPolicyBody, TakerLimitsBody } from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';

const LIMITS_SHAPE =
  '`{maxFundingRate, maxOpeningFeeBps, maxTxFeeRate}`: maxFundingRate a decimal string, the ' +
  'largest absolute funding rate per settlement interval; maxOpeningFeeBps basis points of the ' +
  'taker’s margin (0…10000); maxTxFeeRate sat/vB (1…1000).';
const POLICY_SHAPE =
  '`{autoAccept, publishing, spreadBps, minQuantity, maxQuantity, lotSize, leverageChoices, ' +
  'fundingRate, openingFee, txFeeRate}`: quantities (contracts) and openingFee (satoshis) are ' +
  'decimal strings, fundingRate a decimal string per settlement interval (positive: long pays ' +
  'short), txFeeRate sat/vB.';

/** What a route that needs the password again says about it. */
export const REAUTH =
  ' Needs the UI password again as `password` in the body from a browser session (403 ' +
  'PasswordRequiredError without it, InvalidPasswordError if wrong, 429 TooManyAttemptsError ' +
  'when guessing); optional with the bearer token.';
export const REAUTH_RESPONSES = { 403: 'password missing or wrong', 429: 'throttled' } as const;

export const SETTINGS_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/maker/policy',
    summary: 'The maker’s policy (maker)',
    description: POLICY_SHAPE,
    responses: { 200: 'the policy', 409: 'a taker has no maker policy' },
    response: 'MakerPolicy',
    handler: async ({ ctx }) => ctx.service.policy(),
  }),
  route({
    method: 'put',
    path: '/api/maker/policy',
    summary: 'Change the maker’s policy (maker); applies at once',
    description:
      'Any subset of the fields. The result must hold together: minQuantity ≤ maxQuantity, ' +
      'both multiples of lotSize; leverages from 1, 2, 3, 4, 5, 10, 15, 20, 25, 50, 100; ' +
      'spreadBps 0…1000; fundingRate within ±0.01; txFeeRate 1…1000 sat/vB. The policy is ' +
      'kept in the data dir and wins over the config from then on; offers are republished ' +
      'at once (`publishing: false` withdraws them) and a `policy` event goes out on ' +
      `/api/events. Answers the whole new policy.${REAUTH} ${POLICY_SHAPE}`,
    body: MakerPolicyBody,
    responses: { 200: 'the new policy', ...REAUTH_RESPONSES, 409: 'a taker has no maker policy' },
    response: 'MakerPolicy',
    precheck: (ctx) => void ctx.service.policy(),
    handler: async ({ body, request, ctx }) => {
      const { password, ...patch } = body;
      await reauthenticate(ctx, request, password, 'changing the maker policy');
      return ctx.service.updatePolicy(patch);
    },
  }),
  route({
    method: 'get',
    path: '/api/taker/limits',
    summary: 'The taker’s limits (taker)',
    description: LIMITS_SHAPE,
    responses: { 200: 'the limits', 409: 'a maker has no taker limits' },
    response: 'TakerLimitsView',
    handler: async ({ ctx }) => ctx.service.limits(),
  }),
  route({
    method: 'put',
    path: '/api/taker/limits',
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
    responses: { 200: 'the new limits', ...REAUTH_RESPONSES, 409: 'a maker has no taker limits' },
    response: 'TakerLimitsView',
    precheck: (ctx) => void ctx.service.limits(),
    handler: async ({ body, request, ctx }) => {
      const { password, ...patch } = body;
      await reauthenticate(ctx, request, password, 'changing the taker limits');
      return ctx.service.updateLimits(patch);
    },
  }),
];
