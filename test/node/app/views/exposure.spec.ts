// A maker's net exposure: only positions whose coins are in a contract count.
import assert from 'node:assert/strict';
import type { CfdView } from '../../../../node/app/views/cfd.ts';
import { exposureView } from '../../../../node/app/views/exposure.ts';

const view = (
  state: CfdView['state'],
  position: 'long' | 'short',
  quantity: string,
  margin: string,
) => ({ state, position, quantity, margin }) as CfdView;

describe('node/app/views/exposure', () => {
  it('sums contracts long and short, the net and the margin of the positions at risk', () => {
    assert.deepEqual(
      exposureView([
        view('open', 'short', '300', '600000'),
        view('rollover', 'long', '100', '200000'),
        view('openCommitted', 'short', '200', '400000'),
        // Not (or no longer) holding coins: left out.
        view('pendingSetup', 'long', '5000', '1'),
        view('closed', 'short', '7000', '1'),
        view('rejected', 'short', '7000', '1'),
      ]),
      {
        positions: 3,
        longContracts: '100',
        shortContracts: '500',
        netContracts: '-400',
        marginAtRisk: '1200000',
      },
    );
    assert.equal(exposureView([]).netContracts, '0');
  });
});
