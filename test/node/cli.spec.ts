import assert from 'node:assert/strict';
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
});
