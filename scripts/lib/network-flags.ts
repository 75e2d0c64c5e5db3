// What every node of a local network is told about it (the testnet, the research deployments on
// hosts and on Kubernetes): where the chain, oracle and feed are, and the compressed time.

/** A network's time in seconds: settlement interval, rollover cadence, oracle events, blocks. */
export interface NetworkTime {
  readonly settlement: number;
  readonly rollover: number;
  readonly events: number;
  readonly block: number;
}

/**
 * Production time divided by a scale (the testnet's `--time-scale`, a deployment's): at 60, a
 * day-long settlement interval lasts 24 minutes, hourly rollovers and oracle events come every
 * minute, and blocks every 10 s, so the 12-block CET lock and the 216-block refund lock keep their
 * meaning in blocks. Floors keep a network workable at any scale.
 */
export function compressedTime(scale: number): NetworkTime {
  return {
    settlement: Math.max(60, Math.round(86_400 / scale)),
    rollover: Math.max(10, Math.round(3_600 / scale)),
    events: Math.max(10, Math.round(3_600 / scale)),
    block: Math.max(1, Math.round(600 / scale)),
  };
}

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
