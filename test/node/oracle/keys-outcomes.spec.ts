/**
 * The oracle's persistent state: seed file (0600, deterministic keys and nonces, even-y points)
 * and the outcome log (fsync'd, never a second outcome, torn last line dropped, two outcomes
 * refused), plus the price rounding.
 */
import assert from 'node:assert/strict';
import { appendFile, chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { attestPrice, verifyAttestation } from '../../../dlc/oracle.ts';
import { bytesToBigInt, G, hasEvenY } from '../../../dlc/secp.ts';
import { oracleEventId } from '../../../model/oracle-event.ts';
import { parsePrice } from '../../../model/units.ts';
import { OUTCOMES_FILE, SEED_FILE } from '../../../node/oracle/constants.ts';
import { deriveOracleKeys, loadOrCreateSeed } from '../../../node/oracle/keys.ts';
import { OutcomeLog } from '../../../node/oracle/outcomes.ts';
import { attestablePrice, OracleServer } from '../../../node/oracle/server.ts';
import { tempDir } from './helpers.ts';

const ID = oracleEventId(1_700_000_000 - (1_700_000_000 % 3600));

describe('oracle keys and outcome log', () => {
  it('creates the seed 0600 once and derives the same keys and nonces from it', async () => {
    const dir = await tempDir();
    const a = await loadOrCreateSeed(dir);
    assert.equal(a.created, true);
    assert.equal((await stat(join(dir, SEED_FILE))).mode & 0o777, 0o600);
    const b = await loadOrCreateSeed(dir);
    assert.equal(b.created, false);
    assert.equal(bytesToHex(b.seed), bytesToHex(a.seed));
    assert.equal(b.createdAt, a.createdAt);

    const k1 = deriveOracleKeys(a);
    const k2 = deriveOracleKeys(b);
    assert.equal(bytesToHex(k1.oliviaPublicKey), bytesToHex(k2.oliviaPublicKey));
    assert.notEqual(bytesToHex(k1.oliviaPublicKey), bytesToHex(k1.announcementPublicKey));
    assert.deepEqual(k1.nonces(ID).map(bytesToHex), k2.nonces(ID).map(bytesToHex));
    assert.notDeepEqual(
      k1.nonces(ID).map(bytesToHex),
      k1.nonces(oracleEventId(1_700_003_600 - (1_700_003_600 % 3600))).map(bytesToHex),
    );
    // olivia normalises every secret to an even-y point.
    for (const r of [k1.oliviaSecretKey, ...k1.nonceSecrets(ID)]) {
      assert.ok(hasEvenY(G.multiply(bytesToBigInt(r))));
    }
    const scalars = attestPrice(k1.oliviaSecretKey, k1.nonceSecrets(ID), 45001);
    assert.ok(verifyAttestation(k1.oliviaPublicKey, k1.nonces(ID), 45001, scalars));
  });

  it('refuses a seed file readable by others', async () => {
    const dir = await tempDir();
    await loadOrCreateSeed(dir);
    await chmod(join(dir, SEED_FILE), 0o644);
    await assert.rejects(loadOrCreateSeed(dir), { name: 'OracleSeedFileError' });
  });

  it('records an outcome once, durably, and refuses a second one', async () => {
    const dir = await tempDir();
    const log = await OutcomeLog.open(dir);
    await log.record({ eventId: ID, outcome: 40000, time: '2023-11-14T22:00:01' });
    await assert.rejects(log.record({ eventId: ID, outcome: 40001, time: '2023-11-14T22:00:02' }), {
      name: 'OutcomeExistsError',
    });
    // Also while the first write is in flight.
    const other = oracleEventId(1_700_003_600 - (1_700_003_600 % 3600));
    const p1 = log.record({ eventId: other, outcome: 1, time: '2023-11-14T23:00:00' });
    await assert.rejects(log.record({ eventId: other, outcome: 2, time: '2023-11-14T23:00:00' }), {
      name: 'OutcomeExistsError',
    });
    await p1;
    await log.close();

    const reopened = await OutcomeLog.open(dir);
    assert.equal(reopened.get(ID)?.outcome, 40000);
    assert.equal(reopened.get(other)?.outcome, 1);
    await reopened.close();
  });

  it('drops a torn last line, and refuses a log with two outcomes for one event', async () => {
    const dir = await tempDir();
    const path = join(dir, OUTCOMES_FILE);
    const line = JSON.stringify({ eventId: ID, outcome: 40000, time: '2023-11-14T22:00:01' });
    await writeFile(path, `${line}\n{"eventId":"/x/Bit`);
    const log = await OutcomeLog.open(dir);
    assert.equal(log.size, 1);
    const next = oracleEventId(1_700_003_600 - (1_700_003_600 % 3600));
    await log.record({ eventId: next, outcome: 7, time: '2023-11-14T23:00:00' });
    await log.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[1]!).outcome, 7);

    await appendFile(path, `${JSON.stringify({ eventId: ID, outcome: 40001, time: 'x' })}\n`);
    await assert.rejects(OutcomeLog.open(dir), { name: 'OutcomeLogCorruptError' });
  });

  it('an oracle whose outcome log vanished refuses to start', async () => {
    const dir = await tempDir();
    const o = await OracleServer.start({ datadir: dir, pricefeedUrl: 'ws://127.0.0.1:9/realtime' });
    await o.stop();
    await rm(join(dir, OUTCOMES_FILE));
    await assert.rejects(
      OracleServer.start({ datadir: dir, pricefeedUrl: 'ws://127.0.0.1:9/realtime' }),
      { name: 'OutcomeLogCorruptError' },
    );
  });

  it('attests the quote mid in whole dollars, half away from zero, capped at 2^20 − 1', () => {
    const p = (s: string) => parsePrice(s);
    assert.equal(attestablePrice(p('45000'), p('45001')), 45001); // mid 45000.5
    assert.equal(attestablePrice(p('45000'), p('45000.5')), 45000); // mid 45000.25
    assert.equal(attestablePrice(p('45000.5'), p('45001')), 45001); // mid 45000.75
    assert.equal(attestablePrice(p('0.00000001'), p('0.00000001')), 0);
    assert.equal(attestablePrice(p('2000000'), p('2000001')), 2 ** 20 - 1);
  });
});
