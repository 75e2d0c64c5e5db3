import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  adaptorDecrypt,
  adaptorEncrypt,
  adaptorVerify,
  announcementMessage,
  anticipatedPoint,
  anticipatedPointFor,
  assertAttestation,
  assertOliviaEvent,
  attestationDecryptionKey,
  attestPrice,
  decomposeInterval,
  digitsFromString,
  formatEventId,
  formatOliviaTime,
  InvalidAttestationError,
  InvalidDigitsError,
  InvalidEventIdError,
  InvalidOracleDocumentError,
  InvalidPointError,
  parseEventId,
  parseOliviaEventResponse,
  prefixRange,
  prepareOracleEvent,
  priceToDigits,
  signAnnouncement,
  verifyAnnouncementSignature,
  verifyAttestation,
  verifyAttestationScalar,
} from '../../dlc/index.ts';

interface OliviaFixture {
  oracle_public_key_xonly: string;
  events: { id: string; price: number; nonces: string[]; scalars: string[] }[];
  http_response_example: {
    announcement: { oracle_event: { encoding: string; data: string }; signature: string };
    attestation: {
      outcome: string;
      schemes: { 'olivia-v1': { scalars: string[] }; 'ecdsa-v1': { signature: string } };
      time: string;
    };
  };
}

const fx = JSON.parse(
  readFileSync(new URL('../fixtures/olivia_attestations.json', import.meta.url), 'utf8'),
) as OliviaFixture;
const h = hexToBytes;
const oracleKey = h(fx.oracle_public_key_xonly);
const events = fx.events.map((e) => ({
  ...e,
  nonceBytes: e.nonces.map(h),
  scalarBytes: e.scalars.map(h),
}));
const event0 = events[0]!;
const G = secp256k1.Point.BASE;
const N = secp256k1.Point.Fn.ORDER;
const pointOf = (scalar32: Uint8Array) => G.multiply(BigInt(`0x${bytesToHex(scalar32)}`));
const clone = (o: unknown) => JSON.parse(JSON.stringify(o));

/** The scalar s + 1 (mod n) as 32 bytes: a minimal tampering. */
function bump(s: Uint8Array): Uint8Array {
  const v = (BigInt(`0x${bytesToHex(s)}`) + 1n) % N;
  return h(v.toString(16).padStart(64, '0'));
}

describe('dlc/oracle: event ids', () => {
  it('formats and parses /x/BitMEX/BXBT/<UTC>.price?n=20 both ways', () => {
    // 2021-10-05T02:00:00Z = 1633399200.
    assert.equal(formatEventId(1633399200), '/x/BitMEX/BXBT/2021-10-05T02:00:00.price?n=20');
    for (const e of events) {
      const parsed = parseEventId(e.id);
      assert.equal(parsed.nDigits, 20);
      assert.equal(formatEventId(parsed.unixSeconds), e.id);
    }
    assert.deepEqual(parseEventId('/x/BitMEX/BXBT/2022-04-15T01:00:00.price?n=20'), {
      unixSeconds: Date.UTC(2022, 3, 15, 1) / 1000,
      nDigits: 20,
    });
    // ETHUSD's index, BETH, likewise.
    assert.equal(
      formatEventId(1633399200, 20, 'BETH'),
      '/x/BitMEX/BETH/2021-10-05T02:00:00.price?n=20',
    );
    assert.equal(
      parseEventId('/x/BitMEX/BETH/2021-10-05T02:00:00.price?n=20').unixSeconds,
      1633399200,
    );
  });

  it('rejects other indices, digit counts, impossible dates and malformed ids', () => {
    for (const bad of [
      '/x/BitMEX/BSOL/2021-10-05T02:00:00.price?n=20',
      '/x/BitMEX/BXBT/2021-10-05T02:00:00.price?n=21',
      '/x/BitMEX/BXBT/2021-02-30T02:00:00.price?n=20',
      '/x/BitMEX/BXBT/2021-10-05T24:00:00.price?n=20',
      '/x/BitMEX/BXBT/2021-10-05T02:00.price?n=20',
      '/x/BitMEX/BXBT/2021-10-05T02:00:00Z.price?n=20',
      '/x/BitMEX/BXBT/2021-10-05T02:00:00.price?n=20 ',
      '',
      42 as unknown as string,
    ]) {
      assert.throws(() => parseEventId(bad), InvalidEventIdError, String(bad));
    }
  });

  it('refuses to format negative or fractional times', () => {
    assert.throws(() => formatEventId(-1), InvalidEventIdError);
    assert.throws(() => formatEventId(1.5), InvalidEventIdError);
    assert.throws(() => formatOliviaTime(Number.NaN), InvalidEventIdError);
  });
});

describe('dlc/oracle: olivia-v1 attestations', () => {
  for (const e of events) {
    it(`the real attestation of ${e.id} (price ${e.price}) verifies`, () => {
      assert.equal(e.nonces.length, 20);
      assertAttestation(oracleKey, e.nonceBytes, e.price, e.scalarBytes);
      assert.ok(verifyAttestation(oracleKey, e.nonceBytes, e.price, e.scalarBytes));
    });
  }

  it('fails for a changed price (every other price differing in one digit)', () => {
    for (let bit = 0; bit < 20; bit++) {
      const other = event0.price ^ (1 << bit);
      assert.equal(
        verifyAttestation(oracleKey, event0.nonceBytes, other, event0.scalarBytes),
        false,
      );
    }
    assert.throws(
      () => assertAttestation(oracleKey, event0.nonceBytes, event0.price + 1, event0.scalarBytes),
      InvalidAttestationError,
    );
  });

  it('fails for any changed scalar', () => {
    for (let i = 0; i < 20; i++) {
      const scalars: Uint8Array[] = event0.scalarBytes.slice();
      scalars[i] = bump(scalars[i]!);
      assert.equal(verifyAttestation(oracleKey, event0.nonceBytes, event0.price, scalars), false);
    }
  });

  it('fails for any changed nonce, for swapped events and for another oracle key', () => {
    const event1 = events[1]!;
    for (let i = 0; i < 20; i++) {
      const nonces: Uint8Array[] = event0.nonceBytes.slice();
      nonces[i] = event1.nonceBytes[i]!;
      assert.equal(verifyAttestation(oracleKey, nonces, event0.price, event0.scalarBytes), false);
    }
    assert.equal(
      verifyAttestation(oracleKey, event1.nonceBytes, event0.price, event0.scalarBytes),
      false,
    );
    const otherKey = schnorr.getPublicKey(sha256(utf8ToBytes('other oracle')));
    assert.equal(
      verifyAttestation(otherKey, event0.nonceBytes, event0.price, event0.scalarBytes),
      false,
    );
  });

  it('uses the digit and the even-y lifts of X and R (odd-y lifts or the other digit fail)', () => {
    const digit = priceToDigits(event0.price)[0]!;
    const s0 = event0.scalarBytes[0]!;
    assert.ok(verifyAttestationScalar(oracleKey, event0.nonceBytes[0]!, digit, s0));
    const flipped = (1 - digit) as 0 | 1;
    assert.equal(verifyAttestationScalar(oracleKey, event0.nonceBytes[0]!, flipped, s0), false);
    // The same equation with odd-y lifts does not hold for the real scalar.
    const X = schnorr.utils.lift_x(BigInt(`0x${fx.oracle_public_key_xonly}`));
    const R = schnorr.utils.lift_x(BigInt(`0x${event0.nonces[0]}`));
    const k = BigInt(digit + 1);
    assert.ok(pointOf(s0).equals(X.add(R.multiply(k))));
    assert.equal(pointOf(s0).equals(X.negate().add(R.multiply(k))), false);
    assert.equal(pointOf(s0).equals(X.add(R.negate().multiply(k))), false);
  });

  it('needs 20 nonces and 20 scalars', () => {
    assert.throws(
      () =>
        assertAttestation(
          oracleKey,
          event0.nonceBytes.slice(0, 19),
          event0.price,
          event0.scalarBytes,
        ),
      InvalidAttestationError,
    );
    assert.throws(
      () =>
        assertAttestation(
          oracleKey,
          event0.nonceBytes,
          event0.price,
          event0.scalarBytes.slice(0, 19),
        ),
      InvalidAttestationError,
    );
  });

  it('attestPrice (oracle side) produces scalars that verify, normalising odd-y secrets', () => {
    const sk = sha256(utf8ToBytes('oracle key'));
    const nonceSecrets = Array.from({ length: 20 }, (_, i) => sha256(utf8ToBytes(`nonce ${i}`)));
    const parities = nonceSecrets.map((r) => secp256k1.getPublicKey(r, true)[0]);
    assert.ok(parities.includes(2) && parities.includes(3), 'both y parities are exercised');
    const X = schnorr.getPublicKey(sk);
    const R = nonceSecrets.map((r) => schnorr.getPublicKey(r));
    for (const price of [0, 1, 49262, 1048575]) {
      const scalars = attestPrice(sk, nonceSecrets, price);
      assertAttestation(X, R, price, scalars);
      assert.equal(verifyAttestation(X, R, price === 0 ? 1 : price - 1, scalars), false);
    }
  });
});

describe('dlc/oracle: anticipated points and decryption keys', () => {
  const prepared = prepareOracleEvent(oracleKey, event0.nonceBytes);
  const digits = priceToDigits(event0.price);

  it('matches the points and keys the reference derives for 49262 (dlc-crypto.md §4.6)', () => {
    const cases = [
      {
        prefix: '00001100000',
        Y: '03b0543e57626efbea4786e841fcdaedf04ffa0398864b3982a1a3d61f51c9b86e',
        y: 'f608d50fd6903efeb897c3c90fab0c22926dd59cdbbfb311d414125a862e5bd8',
      },
      {
        prefix: '000011',
        Y: '02b2982d7fb178c868c7fa1b4b7b70c90c95cda3e06845cfc17431f1f35ed2ba98',
        y: '98c1b7f463526455c3a099489ded46484252ed4a45f0b9319f84af41d7747180',
      },
    ];
    for (const c of cases) {
      const prefix = digitsFromString(c.prefix);
      assert.equal(bytesToHex(anticipatedPoint(prepared, prefix)), c.Y);
      assert.equal(
        bytesToHex(attestationDecryptionKey(event0.price, event0.scalarBytes, prefix)),
        c.y,
      );
    }
    assert.equal(
      bytesToHex(anticipatedPoint(prepared, digits)),
      '02e5c5d5bfa29a567dcba1a91148b8982d12e9ac31aad114ffface9fa6bc070669',
    );
  });

  it('for every prefix length of both real attestations, y·G equals the anticipated point', () => {
    for (const e of events) {
      const ev = prepareOracleEvent(oracleKey, e.nonceBytes);
      const d = priceToDigits(e.price);
      for (let k = 1; k <= 20; k++) {
        const prefix = d.slice(0, k);
        const Y = anticipatedPoint(ev, prefix);
        assert.equal(
          bytesToHex(anticipatedPointFor(oracleKey, e.nonceBytes, prefix)),
          bytesToHex(Y),
        );
        const y = attestationDecryptionKey(e.price, e.scalarBytes, prefix);
        assert.equal(bytesToHex(pointOf(y).toBytes(true)), bytesToHex(Y), `prefix length ${k}`);
      }
    }
  });

  it('the point of a prefix the price does not have is not unlocked by the attestation', () => {
    const wrong = digits.slice(0, 11);
    wrong[10] = (1 - wrong[10]!) as 0 | 1;
    assert.throws(
      () => attestationDecryptionKey(event0.price, event0.scalarBytes, wrong),
      InvalidDigitsError,
    );
    // Summing the attested scalars anyway gives a key for the attested prefix, not this one.
    const y = attestationDecryptionKey(event0.price, event0.scalarBytes, digits.slice(0, 11));
    assert.notEqual(
      bytesToHex(pointOf(y).toBytes(true)),
      bytesToHex(anticipatedPoint(prepared, wrong)),
    );
  });

  it('refuses empty or too-long prefixes and too few nonces', () => {
    assert.throws(() => anticipatedPoint(prepared, []), InvalidDigitsError);
    assert.throws(() => anticipatedPoint(prepared, [...digits, 0]), InvalidDigitsError);
    assert.throws(
      () => prepareOracleEvent(oracleKey, event0.nonceBytes.slice(0, 19)),
      InvalidPointError,
    );
  });

  it('end to end: a CET signature encrypted to the covering prefix decrypts with the attestation', () => {
    const sk = sha256(utf8ToBytes('maker identity'));
    const pk = secp256k1.getPublicKey(sk, true);
    const sighash = sha256(utf8ToBytes('a CET sighash'));
    // The payout interval 0..=50000 contains the attested 49262; find its covering prefix.
    const cover = decomposeInterval(0, 50_000);
    const prefix = cover.find((p) => {
      const r = prefixRange(p);
      return event0.price >= r.start && event0.price <= r.end;
    });
    assert.ok(prefix);
    const adaptorSig = adaptorEncrypt(sk, anticipatedPoint(prepared, prefix), sighash);
    assert.ok(adaptorVerify(adaptorSig, pk, sighash, anticipatedPoint(prepared, prefix)));
    const sig = adaptorDecrypt(
      adaptorSig,
      attestationDecryptionKey(event0.price, event0.scalarBytes, prefix),
    );
    assert.ok(secp256k1.verify(sig, sighash, pk, { prehash: false }));
  });
});

describe('dlc/oracle: olivia HTTP documents', () => {
  const body = fx.http_response_example;

  it('parses the real announcement + attestation response into typed objects', () => {
    const r = parseOliviaEventResponse(body);
    const data = JSON.parse(body.announcement.oracle_event.data);
    assert.equal(r.announcement.eventId, '/x/BitMEX/BXBT/2021-10-04T22:00:00.price?n=20');
    assert.equal(r.announcement.unixSeconds, parseEventId(data.id).unixSeconds);
    assert.equal(r.announcement.expectedOutcomeTime, '2021-10-04T22:00:00');
    assert.equal(r.announcement.nDigits, 20);
    assert.equal(r.announcement.data, body.announcement.oracle_event.data);
    assert.deepEqual(r.announcement.nonces.map(bytesToHex), data.schemes['olivia-v1'].nonces);
    assert.equal(bytesToHex(r.announcement.signature), body.announcement.signature);
    assert.ok(r.attestation);
    assert.equal(r.attestation.outcome, 48935);
    assert.equal(r.attestation.time, '2021-10-04T22:00:15');
    assert.deepEqual(
      r.attestation.scalars.map(bytesToHex),
      body.attestation.schemes['olivia-v1'].scalars,
    );
    assert.equal(
      bytesToHex(r.attestation.ecdsaSignature!),
      body.attestation.schemes['ecdsa-v1'].signature,
    );
    // The JSON text form parses the same.
    assert.deepEqual(parseOliviaEventResponse(JSON.stringify(body)), r);
  });

  it('the real response attestation verifies against the announced nonces and olivia key', () => {
    assertOliviaEvent(parseOliviaEventResponse(body), oracleKey);
  });

  it('a response whose outcome was changed fails the attestation check', () => {
    const tampered = clone(body);
    tampered.attestation.outcome = '48936';
    assert.throws(
      () => assertOliviaEvent(parseOliviaEventResponse(tampered), oracleKey),
      InvalidAttestationError,
    );
  });

  it('an unattested event parses with attestation null', () => {
    const r = parseOliviaEventResponse({ announcement: body.announcement, attestation: null });
    assert.equal(r.attestation, null);
    assertOliviaEvent(r, oracleKey);
  });

  it('rejects malformed documents with InvalidOracleDocumentError', () => {
    const mutations: ((b: ReturnType<typeof clone>) => void)[] = [
      (b) => {
        b.announcement.oracle_event.encoding = 'cbor';
      },
      (b) => {
        b.announcement.signature = 'abcd';
      },
      (b) => {
        b.announcement.oracle_event.data = '{not json';
      },
      (b) => {
        const d = JSON.parse(b.announcement.oracle_event.data);
        d.schemes['olivia-v1'].nonces = d.schemes['olivia-v1'].nonces.slice(0, 19);
        b.announcement.oracle_event.data = JSON.stringify(d);
      },
      (b) => {
        const d = JSON.parse(b.announcement.oracle_event.data);
        d.descriptor.n_digits = 19;
        b.announcement.oracle_event.data = JSON.stringify(d);
      },
      (b) => {
        const d = JSON.parse(b.announcement.oracle_event.data);
        d.id = '/x/BitMEX/BXBT/tomorrow.price?n=20';
        b.announcement.oracle_event.data = JSON.stringify(d);
      },
      (b) => {
        b.attestation.outcome = '-5';
      },
      (b) => {
        b.attestation.outcome = '1048576';
      },
      (b) => {
        b.attestation.schemes['olivia-v1'].scalars.pop();
      },
      (b) => {
        b.attestation.schemes['olivia-v1'].scalars[3] = 'zz';
      },
      (b) => {
        b.attestation.time = 'yesterday';
      },
    ];
    mutations.forEach((mutate, i) => {
      const b = clone(body);
      mutate(b);
      assert.throws(() => parseOliviaEventResponse(b), InvalidOracleDocumentError, `mutation ${i}`);
    });
    assert.throws(() => parseOliviaEventResponse('nope'), InvalidOracleDocumentError);
    assert.throws(() => parseOliviaEventResponse([]), InvalidOracleDocumentError);
  });
});

describe('dlc/oracle: BIP340 announcement signatures', () => {
  const data = fx.http_response_example.announcement.oracle_event.data;

  it('signs pad64("DLC/announcement") ‖ data, as schnorr_fun Message::plain does', () => {
    const msg = announcementMessage(data);
    assert.equal(msg.length, 64 + utf8ToBytes(data).length);
    assert.equal(new TextDecoder().decode(msg.subarray(0, 16)), 'DLC/announcement');
    assert.ok(msg.subarray(16, 64).every((b) => b === 0));
    const sk = sha256(utf8ToBytes('announcement key'));
    const sig = signAnnouncement(data, sk, new Uint8Array(32));
    assert.ok(schnorr.verify(sig, msg, schnorr.getPublicKey(sk)));
  });

  it('verifies a signed announcement and rejects changed data or another key', () => {
    const sk = sha256(utf8ToBytes('announcement key'));
    const pk = schnorr.getPublicKey(sk);
    const signature = signAnnouncement(data, sk);
    assert.ok(verifyAnnouncementSignature({ data, signature }, pk));
    assert.equal(verifyAnnouncementSignature({ data: `${data} `, signature }, pk), false);
    assert.equal(verifyAnnouncementSignature({ data, signature }, oracleKey), false);
  });

  it('the real announcement is not signed by the olivia-v1 attestation key (olivia uses a separate announcement key)', () => {
    const r = parseOliviaEventResponse(fx.http_response_example);
    assert.equal(verifyAnnouncementSignature(r.announcement, oracleKey), false);
  });
});
