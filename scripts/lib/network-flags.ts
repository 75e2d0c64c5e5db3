// What every node of a local network is told about it (the testnet, the research deployments on
// hosts and on Kubernetes): where the chain, oracle and feed are, and the compressed time.

import type { CompressedTime } from './compressed-time.ts';

/** A network's time in seconds: settlement interval, rollover cadence, oracle events, blocks. */
export type NetworkTime = CompressedTime;

export { compressedTime } from './compressed-time.ts';

/** The maker's and takers' shared flags: regtest, the services, and the time. */
export function nodeNetworkArgs(n: {
  readonly chainRpc: string;
  /** `--chain-cookie-file F` or `--chain-user U` (a password through DLCFD_CHAIN_PASSWORD). */
  readonly chainAuth: readonly string[];
  readonly oracle: string;
  readonly oraclePublicKey: string;
  readonly oracleAnnouncementKey: string;
  readonly pricefeed: string;
  readonly time: NetworkTime;
}): string[] {
  return [
    '--network',
    'regtest',
    '--chain-rpc',
    n.chainRpc,
    ...n.chainAuth,
    '--oracle',
    n.oracle,
    '--oracle-public-key',
    n.oraclePublicKey,
    '--oracle-announcement-key',
    n.oracleAnnouncementKey,
    '--pricefeed',
    n.pricefeed,
    '--settlement-interval',
    String(n.time.settlement),
    '--rollover-interval',
    String(n.time.rollover),
    '--oracle-event-interval',
    String(n.time.events),
    '--chain-poll-ms',
    String(Math.min(5_000, n.time.block * 500)),
  ];
}

/** The oracle's flags for a network: its datadir, the feed, events on the network's grid announced a settlement interval (and a few events) ahead. */
export function oracleNetworkArgs(datadir: string, pricefeed: string, time: NetworkTime): string[] {
  return [
    '--datadir',
    datadir,
    '--pricefeed',
    pricefeed,
    '--event-interval',
    String(time.events),
    '--lookahead',
    String(time.settlement + 3 * time.events),
  ];
}
