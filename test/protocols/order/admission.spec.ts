import assert from 'node:assert/strict';
import {
  Admission,
  type AdmissionTicket,
  DEFAULT_ADMISSION_LIMITS,
  isRefusal,
} from '../../../protocols/order/admission.ts';

const ticket = (a: ReturnType<Admission['admitSetup']>): AdmissionTicket => {
  if (isRefusal(a)) throw new Error(`refused: ${a.refused}`);
  return a;
};

describe('protocols/order/admission: per-peer and global limits', () => {
  it('admits up to the per-peer limit, refuses the next with a reason, admits again after a release', () => {
    const admission = new Admission({ setupsPerPeer: 2, setupsTotal: 10 });
    const a = ticket(admission.admitSetup('peer-a'));
    ticket(admission.admitSetup('peer-a'));
    const refused = admission.admitSetup('peer-a');
    assert.ok(isRefusal(refused));
    assert.match(refused.refused, /at most 2 orders at once from one peer/);
    // Another peer is not affected.
    ticket(admission.admitSetup('peer-b'));
    a.release();
    a.release(); // idempotent: frees one slot, not two
    ticket(admission.admitSetup('peer-a'));
    assert.ok(isRefusal(admission.admitSetup('peer-a')));
    assert.deepEqual(admission.usage, { setups: 3, decisions: 0 });
  });

  it('refuses everyone once the global limit is reached (fresh peer ids do not help)', () => {
    const admission = new Admission({ setupsPerPeer: 2, setupsTotal: 3 });
    const held = ['p1', 'p2', 'p3'].map((p) => ticket(admission.admitSetup(p)));
    const refused = admission.admitSetup('p4');
    assert.ok(isRefusal(refused));
    assert.match(refused.refused, /busy \(3 orders under way\)/);
    held[0]!.release();
    ticket(admission.admitSetup('p4'));
  });

  it('limits orders awaiting a decision separately', () => {
    const admission = new Admission({ decisionsPerPeer: 1, decisionsTotal: 2 });
    const d = ticket(admission.admitDecision('p1'));
    assert.ok(isRefusal(admission.admitDecision('p1')));
    ticket(admission.admitDecision('p2'));
    assert.ok(isRefusal(admission.admitDecision('p3')));
    d.release();
    ticket(admission.admitDecision('p3'));
  });

  it('refuses new orders at once while the peer, or everyone, has the most orders awaiting a decision', () => {
    const admission = new Admission({ decisionsPerPeer: 1, decisionsTotal: 2 });
    ticket(admission.admitSetup('p1'));
    const d = ticket(admission.admitDecision('p1'));
    const refused = admission.admitSetup('p1');
    assert.ok(isRefusal(refused));
    assert.match(refused.refused, /reviews at most 1 order/);
    ticket(admission.admitDecision('p2'));
    assert.ok(isRefusal(admission.admitSetup('p3')), 'the global decision limit applies too');
    d.release();
    ticket(admission.admitSetup('p1'));
  });

  it('has sane defaults and refuses a limit that is not a positive whole number', () => {
    assert.deepEqual(new Admission().limits, DEFAULT_ADMISSION_LIMITS);
    assert.throws(() => new Admission({ setupsTotal: 0 }), RangeError);
    assert.throws(() => new Admission({ setupsPerPeer: 1.5 }), RangeError);
  });
});
