/** Names under which subsystems report health. Peers report as `peer:<peer id>`. */
export const HEALTH = {
  database: 'database',
  chain: 'chain',
  wallet: 'wallet',
  monitor: 'chain-monitor',
  oracle: 'oracle',
  pricefeed: 'pricefeed',
  p2p: 'p2p',
  offers: 'offers',
  /** The process manager's per-CFD handling: degraded while some CFD's handling fails. */
  cfds: 'cfds',
  /** The fee market as the node reads it: the rate it pays now and where it came from. */
  fees: 'fees',
} as const;
