// The taker's choices of makers: block, unblock, prefer — kept in maker-choices.json across
// restarts, each change applied over the one before.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InvalidMakerChoicesError,
  MAKER_CHOICES_FILE,
  MakerChoicesStore,
} from '../../../node/daemon/maker-choices.ts';
import { tempDirEach } from '../../helpers/cfd-fixtures.ts';
import { silent } from '../chain/helpers.ts';

describe('node/daemon/maker-choices', () => {
  const dir = tempDirEach();
  const open = () => MakerChoicesStore.open({ datadir: dir.path, logger: silent });

  it('blocks, prefers and unblocks; concurrent changes all land; a restart keeps them', async () => {
    const s = await open();
    assert.deepEqual(s.current, { blocked: [], preferred: [] });
    // Started together: each applies over the one before (none is lost).
    await Promise.all([s.block('a'), s.block('b'), s.prefer('c', true)]);
    assert.deepEqual(s.current, { blocked: ['a', 'b'], preferred: ['c'] });
    // Preferring a blocked maker unblocks it; blocking a preferred one stops preferring it.
    await s.prefer('a', true);
    await s.block('c');
    assert.deepEqual(s.current, { blocked: ['b', 'c'], preferred: ['a'] });
    await s.unblock('b');
    const stored = JSON.parse(await readFile(join(dir.path, MAKER_CHOICES_FILE), 'utf8'));
    assert.deepEqual(stored, { version: 1, makers: { blocked: ['c'], preferred: ['a'] } });
    assert.deepEqual((await open()).current, { blocked: ['c'], preferred: ['a'] });
  });

  it('never both blocked and preferred', async () => {
    const s = await open();
    await assert.rejects(s.update({ blocked: ['x'], preferred: ['x'] }), InvalidMakerChoicesError);
    assert.deepEqual(s.current, { blocked: [], preferred: [] });
  });
});
