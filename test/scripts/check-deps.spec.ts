import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkDependencies, specifiersOf } from '../../scripts/check-deps.ts';

const root = resolve(import.meta.dirname, '../..');

describe('scripts/check-deps (the dependency rule of npm run check)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dlcfd-check-deps-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(path: string, text: string): void {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }

  it('passes on the tree as it is', () => {
    assert.deepEqual(checkDependencies(root), []);
  });

  it('fails on a copy of the tree with the import protocols/handler.ts had before its ports', () => {
    for (const d of ['model', 'dlc', 'protocols', 'ui-server']) {
      cpSync(join(root, d), join(dir, d), { recursive: true });
    }
    assert.deepEqual(checkDependencies(dir), []);
    write(
      'protocols/handler.ts',
      "import { withFailPointsTransport } from '../node/runtime/failpoints.ts';\n",
    );
    assert.deepEqual(
      checkDependencies(dir).map((v) => [v.file, v.target]),
      [['protocols/handler.ts', 'node/runtime/failpoints.ts']],
    );
  });

  it('keeps model/ and dlc/ to each other, protocols/ off node/ and ui-server/', () => {
    write(
      'model/a.ts',
      "import { b } from '../dlc/b.ts';\nimport type { S } from '../eventstore/s.ts';\n",
    );
    write('dlc/b.ts', "export { c } from '../model/c.ts';\nexport * from '../node/x.ts';\n");
    write(
      'protocols/p.ts',
      [
        "import type { Libp2p } from '@libp2p/interface';",
        "import { readFileSync } from 'node:fs';",
        "import { m } from '../model/m.ts';",
        "import { e } from '../eventstore/e.ts';",
        "// not an import: import { x } from '../node/x.ts';",
        "/** @example import { y } from '../node/y.ts' */",
        "const s = '// from ../node/z.ts';",
        "const ui = await import('../ui-server/u.ts');",
        "import {\n  type Wallet,\n} from '../node/wallet/wallet.ts';",
      ].join('\n'),
    );
    write(
      'ui-server/u.ts',
      "import { app } from '../node/app/index.ts';\nimport { d } from '../node/daemon/daemon.ts';\n",
    );
    const found = checkDependencies(dir, {}).map((v) => `${v.file} -> ${v.target}`);
    assert.deepEqual(found.sort(), [
      'dlc/b.ts -> node/x.ts',
      'model/a.ts -> eventstore/s.ts',
      'protocols/p.ts -> node/wallet/wallet.ts',
      'protocols/p.ts -> ui-server/u.ts',
      'ui-server/u.ts -> node/daemon/daemon.ts',
    ]);
  });

  it('skips the named temporary exceptions', () => {
    write('protocols/collab-settlement/handler.ts', "import { b } from '../../node/chain/b.ts';\n");
    assert.equal(checkDependencies(dir, {}).length, 1);
    assert.deepEqual(
      checkDependencies(dir, { 'protocols/collab-settlement/handler.ts': 'step 2' }),
      [],
    );
  });

  it('reads every kind of specifier', () => {
    assert.deepEqual(
      specifiersOf(
        "import 'a';\nimport type { T } from \"b\";\nexport * as n from 'c';\nvoid import('d');\n",
      ),
      ['b', 'c', 'a', 'd'],
    );
  });
});
