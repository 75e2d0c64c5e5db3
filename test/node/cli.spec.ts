import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/dlcfd.js', import.meta.url));

async function dlcfd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

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
