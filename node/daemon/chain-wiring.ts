/**
 * The daemon's chain wiring: one {@link ChainFollower} for the node. Its tip is read under
 * supervision (health `chain`); on the first answer the wallet and the chain monitor are opened,
 * both following the chain through that follower (a block or mempool transaction is fetched once
 * for both), and on every new tip the wallet syncs before the daemon's per-block work runs.
 *
 * Health, one contract: the chain supervisor, the wallet (after each sync) and the monitor (on
 * every change, by itself) each push to their own {@link HealthReporter}.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ChainFollower } from '../chain/follower.ts';
import { ChainMonitor, type ReportListener } from '../chain/monitor.ts';
import type { BitcoinRpc } from '../chain/rpc.ts';
import type { HealthRegistry, HealthReporter } from '../runtime/health.ts';
import { Supervisor } from '../runtime/supervisor.ts';
import type { BitcoinNetwork } from '../wallet/keys.ts';
import { Wallet } from '../wallet/wallet.ts';

export interface ChainWiringOptions {
  rpc: BitcoinRpc;
  health: HealthRegistry;
  /** Health names of the chain backend, the wallet and the monitor. */
  names: { chain: string; wallet: string; monitor: string };
  /** Pause between tip reads (and the monitor's ticks). */
  pollMs: number;
  network: BitcoinNetwork;
  /** Where the wallet (`wallet/`) and the monitor (`monitor/`) keep their data. */
  walletDir: string;
  monitorDir: string;
  log: Logger;
  onReport: ReportListener;
  /** The wallet is open (once); `signal` aborts when the chain supervisor stops this run. */
  walletOpened(wallet: Wallet, signal: AbortSignal): void;
  /** The monitor is running (once): what needed the chain while it was away resumes here. */
  monitorStarted(monitor: ChainMonitor): Promise<void>;
  /** A new tip, after the wallet synced to it. */
  onBlock(height: number, signal: AbortSignal): Promise<void>;
  /** Registers a stop to run at shutdown (the daemon's reverse-order list). */
  onStop(stop: () => Promise<void> | void): void;
}

/** Wires the chain follower, wallet and monitor; see the module documentation. */
export class ChainWiring {
  readonly follower: ChainFollower;
  readonly supervisor: Supervisor;
  readonly #o: ChainWiringOptions;
  readonly #wallet: HealthReporter;
  #walletInstance: Wallet | undefined;
  #monitor: ChainMonitor | undefined;

  constructor(options: ChainWiringOptions) {
    this.#o = options;
    const { health, names, rpc } = options;
    this.follower = new ChainFollower({ rpc });
    this.#wallet = health.reporter(names.wallet);
    for (const name of [names.wallet, names.monitor]) {
      health.report(name, { status: 'starting', detail: 'waiting for the chain backend' });
    }
    this.supervisor = new Supervisor({
      name: names.chain,
      health,
      logger: options.log,
      run: async ({ signal, ready }) => {
        let last = -1;
        while (!signal.aborted) {
          const height = await this.follower.tip({ signal });
          ready();
          if (height !== last) {
            health.report(names.chain, { detail: `height ${height}` });
            last = height;
            await this.#onTip(height, signal).catch((err: unknown) =>
              this.#wallet.report({ status: 'degraded', error: err }),
            );
          }
          await sleep(options.pollMs, undefined, { signal });
        }
      },
    });
  }

  start(): void {
    this.supervisor.start();
  }

  async #onTip(height: number, signal: AbortSignal): Promise<void> {
    const o = this.#o;
    if (!this.#walletInstance) {
      const wallet = await Wallet.open({
        datadir: o.walletDir,
        network: o.network,
        chain: o.rpc,
        follower: this.follower,
        logger: o.log.child({ component: 'wallet' }),
      });
      this.#walletInstance = wallet;
      o.onStop(() => wallet.close());
      o.walletOpened(wallet, signal);
    }
    if (!this.#monitor) {
      const monitor = new ChainMonitor({
        rpc: o.rpc,
        follower: this.follower,
        dataDir: o.monitorDir,
        pollIntervalMs: o.pollMs,
        health: o.health.reporter(o.names.monitor),
        logger: o.log.child({ component: 'monitor' }),
        onReport: o.onReport,
      });
      this.#monitor = monitor;
      await monitor.start();
      o.onStop(() => monitor.stop());
      await o.monitorStarted(monitor);
    }
    const wallet = this.#walletInstance;
    await wallet.sync({ signal });
    await o.onBlock(height, signal);
    const b = wallet.balance();
    this.#wallet.report({
      status: 'ok',
      detail: `height ${wallet.height}, ${b.spendable} sats spendable`,
    });
  }
}
