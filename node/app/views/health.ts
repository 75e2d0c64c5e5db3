/**
 * Health of the node's subsystems and the node's own facts (explorer link), as the API sends them.
 * Sats and prices are decimal strings (format.ts).
 */

import type { ComponentHealth, HealthStatus } from '../../runtime/health.ts';

// health

export interface ComponentView {
  readonly name: string;
  readonly status: HealthStatus;
  /** Unix ms since when the status has been what it is. */
  readonly since: number;
  readonly lastError: { readonly message: string; readonly at: number } | null;
  readonly restarts: number;
  readonly detail: string | null;
}

export interface HealthView {
  readonly overall: HealthStatus;
  readonly components: readonly ComponentView[];
}

export function componentView(c: ComponentHealth): ComponentView {
  return {
    name: c.name,
    status: c.status,
    since: c.since,
    lastError: c.lastError ?? null,
    restarts: c.restarts,
    detail: c.detail ?? null,
  };
}

export function healthView(
  overall: HealthStatus,
  components: readonly ComponentHealth[],
): HealthView {
  return { overall, components: components.map(componentView) };
}

// node

/** mempool.space per network; regtest has no public explorer. */
const DEFAULT_EXPLORERS: Readonly<Record<string, string>> = {
  mainnet: 'https://mempool.space/tx/{txid}',
  testnet: 'https://mempool.space/testnet/tx/{txid}',
};

/**
 * The page of a transaction in a block explorer, `{txid}` standing for its id: the configured one
 * (`--explorer-url`), else mempool.space on mainnet and testnet; null on regtest, where a public
 * explorer would not know the transaction (the UI then offers to copy the txid instead).
 */
export function explorerTemplate(network: string, configured: string | undefined): string | null {
  return configured ?? DEFAULT_EXPLORERS[network] ?? null;
}

/** A health status with its detail, for a message: `down (no peers)`. */
export function describeStatus(detail: string | undefined, status: string | undefined): string {
  const s = status ?? 'unknown';
  return detail ? `${s} (${detail})` : s;
}
