// The data directory only its owner can enter (node/runtime/datadir.ts): umask 077 before anything
// is created, and a refusal, naming path and mode, when anything in it is open to group or other.
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventStore } from '../../../eventstore/event-store.ts';
import { secureDataDir } from '../../../node/runtime/datadir.ts';
import { InsecureDataDirError } from '../../../node/runtime/errors.ts';
import { tempDir } from '../../helpers/cfd-fixtures.ts';
import { dlcfd } from '../../helpers/dlcfd-cli.ts';

const modeOf = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

/** Every path under `dir` (not following links), with its permission bits. */
async function modesUnder(dir: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isSymbolicLink()) continue;
    const path = join(e.parentPath, e.name);
    out.push({ path, dir: e.isDirectory(), mode: await modeOf(path) });
  }
  return out;
}

describe('node/runtime/datadir', () => {
  let umask: number;
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    umask = process.umask(0o022); // the usual umask: files 0644 and dirs 0755 by default
    dir = await tempDir('dlcfd-datadir-');
  });
  afterEach(async () => {
    process.umask(umask);
    await dir.cleanup();
  });

  it('under umask 022, creates the datadir 0700 and leaves what is then created 0700/0600 (LevelDB too)', async () => {
    const datadir = join(dir.path, 'node', 'data');
    const report = await secureDataDir(datadir);
    assert.equal(report.created, true);
    assert.deepEqual(report.insecure, []);
    assert.equal(await modeOf(datadir), 0o700);
    assert.equal(process.umask(), 0o077, 'the process umask is now 077');
    // What the node and its libraries create with default modes afterwards.
    await writeFile(join(datadir, 'dlcfd.json'), '{}');
    await mkdir(join(datadir, 'wallet'));
    await writeFile(join(datadir, 'wallet', 'seed'), 'x');
    const store = await EventStore.open(join(datadir, 'events'));
    await store.close();
    const modes = await modesUnder(datadir);
    assert.ok(modes.some((m) => m.path.startsWith(join(datadir, 'events', ''))));
    for (const m of modes) assert.equal(m.mode, m.dir ? 0o700 : 0o600, m.path);
    // And the check passes on what it made.
    assert.deepEqual((await secureDataDir(datadir)).insecure, []);
  });

  it('refuses a datadir open to group or other, naming path and mode and the chmod that fixes it', async () => {
    const datadir = dir.path;
    await chmod(datadir, 0o755);
    await assert.rejects(secureDataDir(datadir), (err: unknown) => {
      assert.ok(err instanceof InsecureDataDirError);
      assert.equal(err.name, 'InsecureDataDirError');
      assert.equal(err.path, datadir);
      assert.equal(err.mode, 0o755);
      assert.ok(err.message.includes(`${datadir} (mode 0755)`), err.message);
      assert.ok(err.message.includes(`chmod -R go-rwx ${datadir}`), err.message);
      assert.match(err.message, /--allow-insecure-datadir/);
      return true;
    });
  });

  it('refuses a file or directory deep inside that is open to others (what earlier versions left)', async () => {
    const datadir = dir.path;
    await mkdir(join(datadir, 'events'), { mode: 0o700 });
    await writeFile(join(datadir, 'events', '000005.log'), 'secret', { mode: 0o600 });
    assert.deepEqual((await secureDataDir(datadir)).insecure, []);

    await chmod(join(datadir, 'events', '000005.log'), 0o644);
    await assert.rejects(secureDataDir(datadir), (err: unknown) => {
      assert.ok(err instanceof InsecureDataDirError);
      assert.equal(err.path, join(datadir, 'events', '000005.log'));
      assert.equal(err.mode, 0o644);
      return true;
    });
    await chmod(join(datadir, 'events', '000005.log'), 0o600);
    await chmod(join(datadir, 'events'), 0o750); // group may list and enter: also refused
    await assert.rejects(secureDataDir(datadir), (err: unknown) => {
      assert.ok(err instanceof InsecureDataDirError);
      assert.equal(err.path, join(datadir, 'events'));
      assert.equal(err.mode, 0o750);
      return true;
    });
  });

  it('allowInsecure (--allow-insecure-datadir) warns and goes on; fix tightens', async () => {
    const datadir = dir.path;
    await chmod(datadir, 0o755);
    await writeFile(join(datadir, 'dlcfd.json'), '{}', { mode: 0o644 });
    await chmod(join(datadir, 'dlcfd.json'), 0o644);
    const warned: unknown[] = [];
    const report = await secureDataDir(datadir, {
      allowInsecure: true,
      logger: { warn: (...args: unknown[]) => warned.push(args) } as never,
    });
    assert.deepEqual(
      report.insecure.map((e) => [e.path, e.mode]),
      [
        [datadir, 0o755],
        [join(datadir, 'dlcfd.json'), 0o644],
      ],
    );
    assert.equal(warned.length, 1);
    assert.equal(await modeOf(datadir), 0o755, 'left as it was');

    await secureDataDir(datadir, { fix: true });
    assert.equal(await modeOf(datadir), 0o700);
    assert.equal(await modeOf(join(datadir, 'dlcfd.json')), 0o600);
    assert.deepEqual((await secureDataDir(datadir)).insecure, []);
  });

  it('dlcfd oracle and dlcfd chain --datadir refuse an insecure datadir too (exit 1, named), and accept --allow-insecure-datadir as a flag', async function () {
    this.timeout(60_000);
    await chmod(dir.path, 0o755);
    for (const sub of ['oracle', 'chain']) {
      const port = sub === 'oracle' ? '--port' : '--rpc-port';
      const refused = await dlcfd(sub, '--datadir', dir.path, port, '0');
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`^dlcfd ${sub}: InsecureDataDirError: `));
      assert.ok(refused.stderr.includes(`chmod -R go-rwx ${dir.path}`), refused.stderr);
      const help = await dlcfd(sub, '--help');
      assert.match(help.stdout, /--allow-insecure-datadir/);
    }
  });

  it('skips symbolic links inside (not followed, not refused); a datadir that is a link is resolved', async () => {
    const outside = await tempDir('dlcfd-outside-');
    try {
      await writeFile(join(outside.path, 'shared.cookie'), 'x', { mode: 0o644 });
      await chmod(join(outside.path, 'shared.cookie'), 0o644);
      await symlink(join(outside.path, 'shared.cookie'), join(dir.path, '.cookie'));
      assert.deepEqual((await secureDataDir(dir.path)).insecure, []);

      const link = join(outside.path, 'datadir-link');
      await symlink(dir.path, link);
      assert.deepEqual((await secureDataDir(link)).insecure, []);
      await chmod(dir.path, 0o711);
      await assert.rejects(secureDataDir(link), InsecureDataDirError);
    } finally {
      await outside.cleanup();
    }
  });
});
