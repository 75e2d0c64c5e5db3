/**
 * Oracle trust (issue #13 item 7): no announcement is accepted unverified, not even the first;
 * duplicate nonces are refused; a nonce reused across events or two prices attested for one event
 * mark the oracle compromised — health down naming why, nothing of it delivered afterwards — and
 * that verdict and every nonce seen survive a restart (the nonce log in the datadir, 0600).
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signAnnouncement } from '../../../dlc/oracle.ts';
import { oracleEventId } from '../../../model/oracle-event.ts';
import type { VerifiedAttestation } from '../../../node/oracle/client.ts';
import {
  announcementData,
  buildAnnouncement,
  buildAttestation,
  type EventDocument,
} from '../../../node/oracle/documents.ts';
import { deriveOracleKeys } from '../../../node/oracle/keys.ts';
import { nonceLogFile } from '../../../node/oracle/nonce-log.ts';
import { HealthRegistry } from '../../../node/runtime/health.ts';
import { scriptedOracleEach, tempDir, until } from './helpers.ts';

const keys = deriveOracleKeys({ seed: new Uint8Array(32).fill(42), createdAt: 0 });
const PK = bytesToHex(keys.oliviaPublicKey);
const ANN_PK = bytesToHex(keys.announcementPublicKey);
/** Hourly events a few hours ahead (recent enough to be kept in the nonce log). */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600 + 3_600;
const event = (i: number) => ({ t: T0 + i * 3_600, id: oracleEventId(T0 + i * 3_600) });
const [A, B, C] = [event(0), event(1), event(2)];

function signedEvent(
  id: string,
  t: number,
  nonces: readonly Uint8Array[],
  outcome: number | null = null,
): EventDocument {
  const data = announcementData(id, t, nonces);
  return {
    announcement: {
      oracle_event: { encoding: 'json', data },
      signature: bytesToHex(signAnnouncement(data, keys.announcementSecretKey)),
    },
    attestation:
      outcome === null
        ? null
        : buildAttestation(keys, { eventId: id, outcome, time: '2030-01-01T00:00:00' }),
  };
}

describe('oracle client: trust (signatures, nonces, compromise)', function () {
  this.timeout(20_000);
  let datadir: string;
  beforeEach(async () => {
    datadir = await tempDir();
  });
  const o = scriptedOracleEach({ publicKey: PK, announcementPublicKey: ANN_PK }, () => ({
    datadir,
  }));

  function serve(id: string, body: unknown): void {
    o.server.routes.set(id, [200, JSON.stringify(body)]);
  }

  it('refuses an unsigned announcement on first use, with no announcement key to learn', async () => {
    const doc = signedEvent(A.id, A.t, keys.nonces(A.id));
    doc.announcement.signature = '00'.repeat(64);
    serve(A.id, doc);
    const c = o.client({ announcementPublicKey: undefined });
    await assert.rejects(c.fetchEvent(A.id), { name: 'AnnouncementKeyUnknownError' });
    assert.equal(c.announcement(A.id), undefined);
  });

  it('refuses a wrongly signed announcement on first use, even once the key is learned', async () => {
    const doc = signedEvent(A.id, A.t, keys.nonces(A.id));
    doc.announcement.signature = bytesToHex(
      signAnnouncement(doc.announcement.oracle_event.data, new Uint8Array(32).fill(3)),
    );
    serve(A.id, doc);
    o.server.routes.set('/', [
      200,
      JSON.stringify({ public_keys: { 'olivia-v1': PK, announcement: ANN_PK } }),
    ]);
    const learning = o.client({ announcementPublicKey: undefined });
    await assert.rejects(learning.fetchEvent(A.id), { name: 'InvalidAnnouncementSignatureError' });
    assert.equal(learning.announcement(A.id), undefined);
    // Signed properly, the same event is accepted (and verified) under the learned key.
    serve(A.id, { announcement: buildAnnouncement(keys, A.id, A.t), attestation: null });
    const { announcement } = await learning.fetchEvent(A.id);
    assert.equal(announcement.signatureVerified, true);
  });

  it('refuses an announcement repeating a nonce (DuplicateNonceError)', async () => {
    const nonces = keys.nonces(A.id);
    nonces[7] = nonces[3]!;
    serve(A.id, signedEvent(A.id, A.t, nonces));
    const c = o.client();
    await assert.rejects(c.fetchEvent(A.id), {
      name: 'DuplicateNonceError',
      message: new RegExp(bytesToHex(nonces[3]!)),
    });
    assert.equal(c.announcement(A.id), undefined);
  });

  it('a nonce reused by a second event: compromised, health down saying why, nothing delivered after', async () => {
    serve(A.id, signedEvent(A.id, A.t, keys.nonces(A.id)));
    const reused = keys.nonces(B.id);
    reused[5] = keys.nonces(A.id)[5]!;
    serve(B.id, signedEvent(B.id, B.t, reused));
    serve(C.id, signedEvent(C.id, C.t, keys.nonces(C.id), 50_000)); // valid, attested

    const registry = new HealthRegistry();
    const c = o.client({ health: registry });
    const seen: VerifiedAttestation[] = [];
    c.onAttestation((a) => seen.push(a));
    await c.fetchEvent(A.id);
    await assert.rejects(c.fetchEvent(B.id), { name: 'OracleCompromisedError' });

    const nonce = bytesToHex(reused[5]!);
    const h = c.health();
    assert.equal(h.status, 'down');
    assert.ok(h.compromised);
    assert.match(h.compromised.reason, new RegExp(nonce));
    assert.ok(h.compromised.reason.includes(A.id) && h.compromised.reason.includes(B.id));
    // Nothing of it is used any more: not the earlier announcement, not a later valid attestation.
    assert.equal(c.announcement(A.id), undefined);
    await assert.rejects(c.fetchEvent(C.id), { name: 'OracleCompromisedError' });
    c.watch([C.id]);
    c.start();
    await until('registry down', () => registry.get('oracle')?.status === 'down');
    assert.match(registry.get('oracle')?.detail ?? '', new RegExp(`compromised.*${nonce}`));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(seen, []);
    assert.equal(c.attestation(C.id), undefined);
    assert.equal(o.server.requests.includes(C.id), false);
  });

  it('two different prices attested for one event: compromised', async () => {
    serve(A.id, signedEvent(A.id, A.t, keys.nonces(A.id), 50_000));
    const c = o.client();
    const seen: VerifiedAttestation[] = [];
    c.onAttestation((a) => seen.push(a));
    assert.equal((await c.fetchEvent(A.id)).attestation?.price, 50_000);
    serve(A.id, signedEvent(A.id, A.t, keys.nonces(A.id), 51_000));
    await assert.rejects(c.fetchEvent(A.id), { name: 'OracleCompromisedError' });
    assert.match(c.health().compromised?.reason ?? '', /50000.*51000/);
    assert.equal(c.health().status, 'down');
    assert.equal(c.attestation(A.id), undefined);
    assert.equal(seen.length, 1);
  });

  it('persists every nonce seen and the verdict across a restart (file 0600)', async () => {
    serve(A.id, signedEvent(A.id, A.t, keys.nonces(A.id)));
    const first = o.client();
    await first.fetchEvent(A.id);
    await first.stop();
    const file = nonceLogFile(datadir, PK);
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    // A fresh client has never seen A in memory; the log remembers its nonces.
    const reused = keys.nonces(B.id);
    reused[0] = keys.nonces(A.id)[0]!;
    serve(B.id, signedEvent(B.id, B.t, reused));
    const second = o.client();
    await assert.rejects(second.fetchEvent(B.id), { name: 'OracleCompromisedError' });
    await second.stop();

    // And the verdict stays until the user intervenes.
    serve(C.id, signedEvent(C.id, C.t, keys.nonces(C.id), 50_000));
    const registry = new HealthRegistry();
    const third = o.client({ health: registry });
    const seen: VerifiedAttestation[] = [];
    third.onAttestation((a) => seen.push(a));
    assert.equal(third.health().status, 'down');
    assert.ok(third.health().compromised?.reason.includes(A.id));
    third.watch([C.id]);
    third.start();
    await until('registry down', () => registry.get('oracle')?.status === 'down');
    await assert.rejects(third.fetchEvent(C.id), { name: 'OracleCompromisedError' });
    assert.deepEqual(seen, []);

    // Another datadir (or another oracle key) starts clean.
    const elsewhere = o.client({ datadir: await tempDir() });
    assert.equal((await elsewhere.fetchEvent(C.id)).attestation?.price, 50_000);
  });
});
