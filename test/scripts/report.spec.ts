// `npm run report -- <runDir>`: writes report.html into the folder and prints its path; a wrong
// call says how to call it; a malformed results file is named.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_FILES } from '../../research/scenario/types.ts';
import { runScript } from '../../scripts/lib/dlcfd-process.ts';
import { tempDirEach } from '../helpers/cfd-fixtures.ts';
import { writeResultsFixture } from '../helpers/results-fixture.ts';

const script = fileURLToPath(new URL('../../scripts/report.ts', import.meta.url));

describe('scripts/report', () => {
  const dir = tempDirEach();

  it('writes report.html into the run folder and prints where', async () => {
    await writeResultsFixture(dir.path, { makers: ['m'], takers: ['a', 'b'] });
    const { code, stdout } = await runScript(script, dir.path);
    const file = join(dir.path, RESULT_FILES.report);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), file);
    assert.match(await readFile(file, 'utf8'), /<h1>Run report: fixture<\/h1>/);
  });

  it('says how to call it, and which file is malformed', async () => {
    const usage = await runScript(script);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: npm run report -- <runDir>/);

    await writeFile(join(dir.path, RESULT_FILES.trades), 'nothing,here\r\n');
    const bad = await runScript(script, dir.path);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /npm run report: trades\.csv: no column "t" in the header/);
  });
});
