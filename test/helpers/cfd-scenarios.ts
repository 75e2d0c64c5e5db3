// Drives many CFDs through varied lifecycles with real commands, for projection and crash tests.

import type { CfdRepository } from '../../eventstore/cfd-repository.ts';
import type { CfdCommand } from '../../model/cfd.ts';
import { sampleCommands, terms } from './cfd-fixtures.ts';

type T = CfdCommand['type'];
const opened: T[] = ['placeOrder', 'startContractSetup', 'completeContractSetup', 'confirmLock'];

/** Lifecycles covering open, rolled-over, settled, refunded, punished, rejected and failed CFDs. */
export const LIFECYCLES: readonly (readonly T[])[] = [
  ['placeOrder'],
  ['placeOrder', 'rejectOrder'],
  ['placeOrder', 'startContractSetup', 'failContractSetup'],
  opened,
  [...opened, 'startRollover', 'acceptRollover', 'completeRollover'],
  [...opened, 'proposeSettlement', 'acceptSettlement', 'completeSettlement', 'confirmSettlement'],
  [...opened, 'commit', 'confirmCommit', 'expireCetTimelock', 'attest', 'confirmCet'],
  [
    ...opened,
    'commit',
    'confirmCommit',
    'expireCetTimelock',
    'expireRefundTimelock',
    'confirmRefund',
  ],
  [
    ...opened,
    'startRollover',
    'completeRollover',
    'seeRevokedCommit',
    'publishPunish',
    'confirmPunish',
  ],
  [...opened, 'startRollover', 'rejectRollover', 'proposeSettlement'],
];

/** Runs lifecycle `i % LIFECYCLES.length` on CFD `id`, one command (one append) at a time. */
export async function drive(repo: CfdRepository, id: string, i: number): Promise<void> {
  const role = i % 3 === 0 ? 'maker' : 'taker';
  const commands = sampleCommands(terms({ id, role, position: i % 2 ? 'long' : 'short' }));
  for (const type of LIFECYCLES[i % LIFECYCLES.length]!) await repo.execute(id, commands[type]);
}
