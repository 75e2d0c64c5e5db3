/**
 * What the HTTP layer needs of the domain besides the service: the field schemas it validates
 * input with, the limits it documents, the names it counts by. Re-exported here so ui-server
 * imports node/app only.
 */
export { CFD_UI_STATES, type CfdAction, type CfdUiState } from '../../model/cfd.ts';
export { DEFAULT_MAX_SLIPPAGE_BPS, MAX_SLIPPAGE_BPS } from '../../model/offer.ts';
export { MAX_LEVERAGE } from '../../model/units.ts';
export {
  type MakerPolicy,
  MakerPolicySchema,
  makerPolicyFields,
} from '../daemon/maker-policy.ts';
export {
  TakerLimitsSchema,
  type TakerLimitsView,
  takerLimitsFields,
} from '../daemon/taker-limits.ts';
export type { HealthStatus } from '../runtime/health.ts';
