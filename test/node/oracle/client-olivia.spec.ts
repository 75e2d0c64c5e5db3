/**
 * The node's oracle client against olivia's real documents (served from a loopback HTTP server,
 * real olivia-v1 key pinned): the real announcement and attestations verify through the client's
 * code path, and every kind of forged, tampered or inconsistent answer is rejected by name, shows
 * in health and never reaches a listener.
 */
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { signAnnouncement } from '../../../dlc/oracle.ts';
import type { VerifiedAttestation } from '../../../node/oracle/client.ts';
import { HealthRegistry } from '../../../node/runtime/health.ts';
import {
  editEventData,
  REAL_EVENT_ID,
  realResponse,
  scriptedOracle,
  scriptedOracleEach,
  until,
  vectors,
} from './helpers.ts';

const OLIVIA_PK = vectors.oracle_public_key_xonly;
/** Some other valid x-only key (BIP340 test vector 1's). */
const OTHER_PK = 'dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659';
/**
 * olivia's announcement key is not in the sources, so its real signature cannot be checked; the
 * documents are re-signed with this test key (unverified announcements are never accepted).
 */
const TEST_ANN_SK = new Uint8Array(32).fill(5);
const TEST_ANN_PK = bytesToHex(schnorr.getPublicKey(TEST_ANN_SK));

/** `body` with its announcement re-signed by {@link TEST_ANN_SK} (if it has one). */
function resigned(body: unknown): unknown {
  const ann = (body as { announcement?: { oracle_event?: { data?: unknown }; signature?: string } })
    ?.announcement;
  const data = ann?.oracle_event?.data;
  if (typeof data === 'string' && ann) {
    ann.signature = bytesToHex(signAnnouncement(data, TEST_ANN_SK));
  }
  return body;
}

/** A response for one of the maia example events (real nonces and scalars, no signature known). */
function maiaEventResponse(event: (typeof vectors.events)[number]): unknown {
  const time = event.id.slice(15, 34);
  const data = JSON.stringify({
    id: event.id,
    'expected-outcome-time': time,
    descriptor: { type: 'digit-decomposition', is_signed: false, n_digits: 20, unit: null },
    schemes: { 'olivia-v1': { nonces: event.nonces }, 'ecdsa-v1': {} },
  });
  return {
    announcement: { oracle_event: { encoding: 'json', data }, signature: '00'.repeat(64) },
    attestation: {
      outcome: String(event.price),
      schemes: { 'olivia-v1': { scalars: event.scalars } },
      time,
    },
  };
}

describe('oracle client: real olivia documents', function () {
  this.timeout(20_000);
  const o = scriptedOracleEach({ publicKey: OLIVIA_PK, announcementPublicKey: TEST_ANN_PK });

  /** Serves `body` for the real event id, its announcement signed by the test key. */
  function serve(body: unknown, path = REAL_EVENT_ID): void {
    serveAsIs(typeof body === 'string' ? body : resigned(body), path);
  }

  /** Serves `body` unchanged (its signature as it is). */
  function serveAsIs(body: unknown, path = REAL_EVENT_ID): void {
    o.server.routes.set(path, [200, typeof body === 'string' ? body : JSON.stringify(body)]);
  }

  it('verifies the real HTTP response (outcome 48935) and the two maia attestations', async () => {
    serve(realResponse());
    for (const e of vectors.events) serve(maiaEventResponse(e), e.id);
    const c = o.client();
    const real = await c.fetchEvent(REAL_EVENT_ID);
    assert.equal(real.announcement.nonces.length, 20);
    assert.equal(real.announcement.signatureVerified, true); // under the test key
    assert.equal(real.attestation?.price, 48935);
    assert.equal(real.attestation?.time, '2021-10-04T22:00:15');
    for (const e of vectors.events) {
      const { attestation } = await c.fetchEvent(e.id);
      assert.equal(attestation?.price, e.price);
      assert.deepEqual(attestation?.scalars.map(bytesToHex), e.scalars);
    }
    const h = c.health();
    assert.equal(h.status, 'ok');
    assert.equal(h.reachable, true);
    assert.equal(h.latestAttested, vectors.events[1]!.id);
    assert.equal(h.lastError, null);
  });

  it('watching emits each verified attestation once, through the polling loop', async () => {
    serve(realResponse());
    const registry = new HealthRegistry();
    const c = o.client({ health: registry });
    const seen: VerifiedAttestation[] = [];
    c.onAttestation((a) => seen.push(a));
    c.watch([REAL_EVENT_ID]);
    c.start();
    await until('attestation', () => seen.length === 1);
    assert.equal(seen[0]!.eventId, REAL_EVENT_ID);
    assert.equal(seen[0]!.price, 48935);
    assert.equal(seen[0]!.scalars.length, 20);
    assert.equal(c.attestation(REAL_EVENT_ID)?.price, 48935);
    await until('registry ok', () => registry.get('oracle')?.status === 'ok');
    // Attested: no more polling of it.
    const before = o.server.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(o.server.requests.length, before);
    assert.equal(seen.length, 1);
  });

  describe('rejections', () => {
    /** The real response with its announcement's event data edited by `edit`. */
    const realWithEvent = (edit: Parameters<typeof editEventData>[1]) => () => {
      const r = realResponse();
      editEventData(r, edit);
      return r;
    };
    const cases: [string, () => unknown, string, Partial<{ publicKey: string }>?][] = [
      [
        'a tampered scalar',
        () => {
          const r = realResponse();
          const scalars = (r.attestation!.schemes['olivia-v1'] as { scalars: string[] }).scalars;
          scalars[7] = scalars[7]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
          return r;
        },
        'AttestationVerificationError',
      ],
      [
        'an outcome the scalars do not attest',
        () => {
          const r = realResponse();
          r.attestation!.outcome = '48936';
          return r;
        },
        'AttestationVerificationError',
      ],
      [
        'a wrong pinned key',
        () => realResponse(),
        'AttestationVerificationError',
        { publicKey: OTHER_PK },
      ],
      ['19 nonces', realWithEvent((e) => e.schemes['olivia-v1'].nonces.pop()), 'NonceCountError'],
      [
        '21 nonces',
        realWithEvent((e) => e.schemes['olivia-v1'].nonces.push(vectors.events[0]!.nonces[0]!)),
        'NonceCountError',
      ],
      [
        'an announcement for another event id',
        realWithEvent((e) => {
          e.id = vectors.events[0]!.id;
        }),
        'EventIdMismatchError',
      ],
      [
        'an expected outcome time other than the event time',
        realWithEvent((e) => {
          e['expected-outcome-time'] = '2021-10-04T23:00:00';
        }),
        'EventIdMismatchError',
      ],
      ['malformed JSON', () => '{"announcement": {', 'MalformedOracleResponseError'],
      [
        'a scalar that is not 32 bytes of hex',
        () => {
          const r = realResponse();
          (r.attestation!.schemes['olivia-v1'] as { scalars: string[] }).scalars[0] = 'zz';
          return r;
        },
        'MalformedOracleResponseError',
      ],
    ];

    for (const [what, body, errorName, options] of cases) {
      it(`rejects ${what} (${errorName}), in health, never emitted`, async () => {
        serve(body());
        const c = o.client(options);
        const seen: unknown[] = [];
        c.onAttestation((a) => seen.push(a));
        await assert.rejects(c.fetchEvent(REAL_EVENT_ID), { name: errorName });
        assert.equal(c.attestation(REAL_EVENT_ID), undefined);
        let h = c.health();
        assert.equal(h.lastError?.name, errorName);
        assert.equal(h.lastError?.eventId, REAL_EVENT_ID);
        assert.equal(h.reachable, true);

        // The polling loop meets the same answer: rejected again, degraded, nothing emitted.
        const registry = new HealthRegistry();
        const watcher = o.client({ ...options, health: registry });
        watcher.onAttestation((a) => seen.push(a));
        watcher.watch([REAL_EVENT_ID]);
        watcher.start();
        await until('rejected in the loop', () =>
          watcher.health().failing.some((f) => f.eventId === REAL_EVENT_ID && f.name === errorName),
        );
        h = watcher.health();
        assert.equal(h.status, 'degraded');
        assert.equal(h.latestAttested, null);
        await until('registry degraded', () => registry.get('oracle')?.status === 'degraded');
        assert.match(registry.get('oracle')?.lastError?.message ?? '', /./);
        assert.deepEqual(seen, []);
      });
    }

    it('checks the announcement signature when the announcement key is known', async () => {
      // The real response's signature is by olivia's announcement key, which is not published in
      // the sources; under any other key it must fail.
      serveAsIs(realResponse());
      const c = o.client({ announcementPublicKey: OTHER_PK });
      await assert.rejects(c.fetchEvent(REAL_EVENT_ID), {
        name: 'InvalidAnnouncementSignatureError',
      });

      // A re-signed copy verifies under the signer's key.
      const sk = new Uint8Array(32).fill(7);
      const r = realResponse();
      r.announcement.signature = bytesToHex(signAnnouncement(r.announcement.oracle_event.data, sk));
      serveAsIs(r);
      const signed = o.client({ announcementPublicKey: bytesToHex(schnorr.getPublicKey(sk)) });
      const { announcement, attestation } = await signed.fetchEvent(REAL_EVENT_ID);
      assert.equal(announcement.signatureVerified, true);
      assert.equal(attestation?.price, 48935);
    });

    it('learns the announcement key from GET / and rejects an oracle publishing another olivia-v1 key', async () => {
      const sk = new Uint8Array(32).fill(9);
      const annPk = bytesToHex(schnorr.getPublicKey(sk));
      const r = realResponse();
      r.announcement.signature = bytesToHex(signAnnouncement(r.announcement.oracle_event.data, sk));
      serveAsIs(r);
      o.server.routes.set('/', [
        200,
        JSON.stringify({ public_keys: { 'olivia-v1': OLIVIA_PK, announcement: annPk } }),
      ]);
      const c = o.client({ announcementPublicKey: undefined });
      c.watch([REAL_EVENT_ID]);
      c.start();
      await until('attested', () => c.attestation(REAL_EVENT_ID));
      assert.equal(c.health().announcementKey, annPk);
      assert.equal(c.announcement(REAL_EVENT_ID)?.signatureVerified, true);

      o.server.routes.set('/', [
        200,
        JSON.stringify({ public_keys: { 'olivia-v1': OTHER_PK, announcement: annPk } }),
      ]);
      const wrong = o.client({ announcementPublicKey: undefined });
      await assert.rejects(wrong.fetchInfo(), { name: 'OracleKeyMismatchError' });
      assert.equal(wrong.health().announcementKey, null);
      assert.equal(wrong.health().status, 'degraded');
    });

    it('accepts no announcement before the announcement key is known, not even the first', async () => {
      const sk = new Uint8Array(32).fill(11);
      const annPk = bytesToHex(schnorr.getPublicKey(sk));
      const signed = { ...realResponse(), attestation: null };
      signed.announcement.signature = bytesToHex(
        signAnnouncement(signed.announcement.oracle_event.data, sk),
      );
      serveAsIs(signed);
      const c = o.client({ announcementPublicKey: undefined });
      await assert.rejects(c.fetchEvent(REAL_EVENT_ID), { name: 'AnnouncementKeyUnknownError' });
      assert.equal(c.announcement(REAL_EVENT_ID), undefined);
      o.server.routes.set('/', [
        200,
        JSON.stringify({ public_keys: { 'olivia-v1': OLIVIA_PK, announcement: annPk } }),
      ]);
      await c.fetchInfo();
      assert.equal((await c.fetchEvent(REAL_EVENT_ID)).announcement.signatureVerified, true);
    });

    it('notices when the oracle changes an accepted announcement', async () => {
      serve({ ...realResponse(), attestation: null });
      const c = o.client();
      await c.fetchEvent(REAL_EVENT_ID);
      const r = realResponse();
      editEventData(r, (e) => e.schemes['olivia-v1'].nonces.reverse());
      serve(r);
      await assert.rejects(c.fetchEvent(REAL_EVENT_ID), { name: 'AnnouncementChangedError' });
      assert.equal(c.attestation(REAL_EVENT_ID), undefined);
    });

    it('reports 404 as not found and a dead oracle as down', async () => {
      const c = o.client();
      await assert.rejects(c.fetchEvent(vectors.events[0]!.id), {
        name: 'OracleEventNotFoundError',
      });
      assert.equal(c.health().status, 'degraded');
      const url = o.server.url;
      await o.server.close();
      const dead = o.client({ url, requestTimeoutMs: 1_000 });
      await assert.rejects(dead.fetchEvent(REAL_EVENT_ID), { name: 'OracleUnreachableError' });
      assert.equal(dead.health().status, 'down');
      assert.equal(dead.health().reachable, false);
      o.server = await scriptedOracle(); // for afterEach
    });

    it('times out a hanging oracle with the request timeout', async () => {
      const { createServer } = await import('node:http');
      const hang = createServer(() => {}); // never answers
      await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
      const port = (hang.address() as { port: number }).port;
      try {
        const c = o.client({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 200 });
        const started = Date.now();
        await assert.rejects(c.fetchEvent(REAL_EVENT_ID), {
          name: 'OracleUnreachableError',
          message: /no answer within 200 ms/,
        });
        assert.ok(Date.now() - started < 2_000);
      } finally {
        hang.closeAllConnections();
        await new Promise<void>((resolve) => hang.close(() => resolve()));
      }
    });
  });
});
