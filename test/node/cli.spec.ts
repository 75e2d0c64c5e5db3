import assert from 'node:assert/strict';
import { main } from '../../node/cli.ts';
import { dlcfd } from '../helpers/dlcfd-cli.ts';

describe('dlcfd command line', () => {
  it('prints its version', async () => {
    const { code, stdout } = await dlcfd('--version');
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('prints usage with --help and exits 0', async () => {
    const { code, stdout } = await dlcfd('--help');
    assert.equal(code, 0);
    assert.match(stdout, /usage: dlcfd <subcommand>/);
  });

  it('refuses an unknown subcommand with usage on stderr and exit code 2', async () => {
    const { code, stderr } = await dlcfd('frobnicate');
    assert.equal(code, 2);
    assert.match(stderr, /unknown subcommand 'frobnicate'/);
  });

  /** Runs the CLI's entry point in this process (no start-up cost), capturing what it prints. */
  async function inProcess(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const writes = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = ((c: string) => {
      stdout += c;
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => {
      stderr += c;
      return true;
    }) as typeof process.stderr.write;
    try {
      return { code: await main(argv), stdout, stderr };
    } finally {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    }
  }

  for (const sub of ['taker', 'maker', 'chain', 'oracle', 'pricefeed']) {
    it(`dlcfd ${sub}: an unknown option is one clear line and the usage, exit 2`, async () => {
      const { code, stdout, stderr } = await inProcess(sub, '--bogus');
      assert.equal(code, 2);
      assert.equal(stdout, '');
      const [first, blank, usage] = stderr.split('\n');
      assert.equal(first, `dlcfd ${sub}: unknown option '--bogus'`);
      assert.equal(blank, '');
      assert.match(usage!, new RegExp(`^usage: dlcfd ${sub}`));
    });
  }

  it('--help anywhere in a subcommand’s arguments prints its usage and exits 0', async () => {
    for (const args of [
      ['taker', '--datadir', '/nonexistent', '--help'],
      ['chain', 'mine', '-h'],
    ]) {
      const { code, stdout, stderr } = await inProcess(...args);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`^usage: dlcfd ${args[0]}`));
    }
  });
});
