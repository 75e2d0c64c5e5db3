// report.html opened in real headless Chromium: every chart drawn with data for each series, the
// checks in words, hostile strings from the results shown as text and never run, no page errors;
// 100 takers as a band. The results folders are fixtures of the format (test/helpers), not runs.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { ResultsFormatError } from '../../../research/report/csv.ts';
import { fundingFlows, writeReport } from '../../../research/report/report.ts';
import { readResults } from '../../../research/report/results.ts';
import { RESULT_FILES } from '../../../research/scenario/types.ts';
import { writeResultsFixture } from '../../helpers/results-fixture.ts';
import { chromiumMissing, launchChromium } from '../../ui/harness.ts';

const EVIL = 'evil<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const CHECKS = [
  { name: 'fundingConserved', ok: true, detail: 'paid 1200 = received 1200' },
  { name: 'noneStuck', ok: false, detail: '1 stuck: cfd-<b>9</b>' },
];

/** The number of points a path's `d` draws (its M, L, H and V commands). */
const pointsOf = (d: string) => (d.match(/[MLHV]/g) ?? []).length;

describe('research/report', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dlcfd-report-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A fixture folder with its report written. */
  async function reportOf(
    name: string,
    makers: string[],
    takers: string[],
  ): Promise<{ dir: string; file: string }> {
    const dir = join(root, name);
    await writeResultsFixture(dir, { makers, takers, checks: CHECKS });
    return { dir, file: await writeReport(dir) };
  }

  describe('in Chromium', () => {
    if (chromiumMissing()) return;
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(() => browser?.close());

    /** The report opened from disk; script errors and console errors collected. */
    async function open(file: string): Promise<{ page: Page; errors: string[] }> {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(file).href);
      return { page, errors };
    }

    /** `d` of every path of `series` in chart `chart` (any name: compared, not a selector). */
    const paths = async (page: Page, chart: string, series: string) =>
      (
        await page
          .locator(`svg[data-chart="${chart}"] path[data-series]`)
          .evaluateAll((ps) => ps.map((p) => [p.getAttribute('data-series'), p.getAttribute('d')]))
      )
        .filter(([s]) => s === series)
        .map(([, d]) => d ?? '');
    const count = (page: Page, selector: string) => page.locator(selector).count();

    it('draws every chart with data, the checks in words, hostile names as text', async () => {
      const takers = ['taker1', EVIL, 'taker3', 'taker4', 'taker5', 'taker6'];
      const { file } = await reportOf('small', ['maker1', 'maker2'], takers);
      const { page, errors } = await open(file);

      // price: the path through all 61 quotes, the faults as spans, failures and liquidations
      const [price] = await paths(page, 'price', 'price');
      assert.ok(price && pointsOf(price) >= 61, `price path ${price}`);
      assert.equal(await count(page, 'svg[data-chart="price"] [data-fault]'), 3);
      assert.equal(
        await count(page, 'svg[data-chart="price"] g[data-series="protocol failures"] path'),
        1,
      );
      assert.equal(
        await count(page, 'svg[data-chart="price"] g[data-series="liquidations"] path'),
        1,
      );

      // equity: a line per taker (6 ≤ 12) and per maker, each through its 21 samples
      for (const t of takers) {
        const [d] = await paths(page, 'equity-takers', t);
        assert.ok(d && pointsOf(d) >= 21, `${t}: ${d}`);
      }
      for (const m of ['maker1', 'maker2']) {
        const [d] = await paths(page, 'equity-makers', m);
        assert.ok(d && pointsOf(d) >= 21, `${m}: ${d}`);
      }

      // funding: paid and received bars for 2 makers + 6 takers, net per maker
      assert.equal(await count(page, 'svg[data-chart="funding"] rect[data-series="paid"]'), 8);
      assert.equal(await count(page, 'svg[data-chart="funding"] rect[data-series="received"]'), 8);
      assert.equal(
        await count(page, 'svg[data-chart="funding-net"] rect[data-series="net received"]'),
        2,
      );

      // protocols: 6 setups, 17 good rollovers + 1 failed, 5 settlements
      const dots = (s: string) =>
        count(page, `svg[data-chart="protocols"] g[data-series="${s}"] > *`);
      assert.equal(await dots('setup'), 6);
      assert.equal(await dots('rollover'), 17);
      assert.equal(await dots('settlement'), 5);
      assert.equal(await dots('failed'), 1);
      const failures = page.locator('table.failures');
      assert.match(
        (await failures.textContent()) ?? '',
        /peer unreachable, "timed out" after 30 s/,
      );

      // positions: a row per way of closing, open included
      const closed = await page
        .locator('table.by-close tr[data-closed-by]')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-closed-by')));
      assert.deepEqual(closed, [
        'collaborative',
        'forceClose',
        'liquidation',
        'refund',
        'punish',
        'open',
      ]);

      // checks in words
      assert.equal(await page.getByTestId('verdict').textContent(), '1 of 2 checks FAILED.');
      const check = (name: string) => page.locator(`tr[data-check="${name}"] td`).allTextContents();
      assert.deepEqual(await check('fundingConserved'), [
        'fundingConserved',
        'ok',
        'paid 1200 = received 1200',
      ]);
      assert.deepEqual(await check('noneStuck'), ['noneStuck', 'FAILED', '1 stuck: cfd-<b>9</b>']);

      // the hostile node name is text: in the legend, the funding chart, the tables; nothing ran
      assert.equal(await count(page, 'script, img, b'), 0);
      assert.ok(
        (await page.locator('.legend li').allTextContents()).includes(EVIL),
        'the name shows as text in the legend',
      );
      const rows = await page
        .locator('svg[data-chart="funding"] rect')
        .evaluateAll((rs) => rs.map((r) => r.getAttribute('data-row')));
      assert.equal(rows.filter((r) => r === EVIL).length, 2);
      assert.ok(((await page.locator('body').textContent()) ?? '').includes(EVIL));
      assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
      assert.deepEqual(errors, []);
      await page.close();
    });

    it('draws 100 takers as a band, a median and the three best and worst', async () => {
      const takers = Array.from({ length: 100 }, (_, i) => `t${i + 1}`);
      const { file } = await reportOf('hundred', ['m1', 'm2', 'm3'], takers);
      const { page, errors } = await open(file);
      const series = await page
        .locator('svg[data-chart="equity-takers"] path[data-series]')
        .evaluateAll((ps) => ps.map((p) => p.getAttribute('data-series')));
      // t100 gains most (even index 99 → +), t99 loses most
      assert.deepEqual(series, [
        'min…max of 100',
        'median',
        't100 (top 1)',
        't98 (top 2)',
        't96 (top 3)',
        't99 (bottom 1)',
        't97 (bottom 2)',
        't95 (bottom 3)',
      ]);
      const [band] = await paths(page, 'equity-takers', 'min…max of 100');
      assert.ok(band && pointsOf(band) >= 2 * 21, band);
      // 3 makers + the 10 biggest payers and receivers
      assert.equal(await count(page, 'svg[data-chart="funding"] rect[data-series="paid"]'), 23);
      assert.deepEqual(errors, []);
      await page.close();
    });
  });

  it('reads back what it wrote, quotes and commas included; mirrors funding to the maker', async () => {
    const dir = join(root, 'read');
    await writeResultsFixture(dir, { makers: ['m'], takers: ['a', 'b'] });
    const r = await readResults(dir);
    assert.deepEqual(r.missing, []);
    const failed = r.protocols.find((p) => p.outcome === 'failed');
    assert.equal(failed?.reason, 'peer unreachable, "timed out" after 30 s');
    assert.equal(r.positions[1]?.pnlSats, 20_000n);
    const flows = fundingFlows(r.positions);
    assert.deepEqual(flows.makers.get('m'), { paid: 600n, received: 900n });
    assert.deepEqual(flows.takers.get('b'), { paid: 600n, received: 400n });
  });

  it('reports a partial run, and names the file and row of a malformed one', async () => {
    const dir = join(root, 'partial');
    await writeResultsFixture(dir, { makers: ['m'], takers: ['a'] });
    await unlink(join(dir, RESULT_FILES.equity));
    await unlink(join(dir, RESULT_FILES.summary));
    const html = await readFile(await writeReport(dir), 'utf8');
    assert.match(html, /Not in this results folder: summary\.json, equity\.csv\./);
    assert.match(html, /data-chart="price"/);

    const text = await readFile(join(dir, RESULT_FILES.prices), 'utf8');
    await writeFile(join(dir, RESULT_FILES.prices), text.replace(/\r\n\d+,/, '\r\nsoon,'));
    await assert.rejects(writeReport(dir), (err) => {
      assert.ok(err instanceof ResultsFormatError);
      assert.equal(err.message, 'prices.csv row 2: t "soon" is not a number');
      return true;
    });
  });
});
