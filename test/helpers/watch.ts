/**
 * A node's chain watch for specs: a chain monitor on the RPC that reports to a process manager
 * over the node's CFD log and contract records, polling every 50 ms. Neither is started.
 */
import { ChainMonitor, type ChainMonitorOptions } from '../../node/chain/monitor.ts';
import type { BitcoinRpc } from '../../node/chain/rpc.ts';
import type { ProcessManagerDeps } from '../../node/daemon/process-context.ts';
import { ProcessManager } from '../../node/daemon/process-manager.ts';
import { silent } from '../node/chain/helpers.ts';

export function watchChain(
  rpc: BitcoinRpc,
  dataDir: string,
  deps: Pick<ProcessManagerDeps, 'cfds' | 'readModel' | 'contracts'> &
    Partial<Omit<ProcessManagerDeps, 'monitor' | 'rpc'>>,
  monitorOptions: Partial<Omit<ChainMonitorOptions, 'rpc' | 'dataDir' | 'onReport'>> = {},
): { monitor: ChainMonitor; pm: ProcessManager } {
  let pm!: ProcessManager;
  const monitor = new ChainMonitor({
    rpc,
    dataDir,
    pollIntervalMs: 50,
    ...monitorOptions,
    onReport: (r) => pm.onReport(r),
  });
  pm = new ProcessManager({
    oracle: undefined,
    logger: silent,
    ...deps,
    monitor: () => monitor,
    rpc: () => rpc,
  });
  return { monitor, pm };
}
