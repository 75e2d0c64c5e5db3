// `npm run report -- <runDir>`: writes <runDir>/report.html from the results files a scenario run
// left there (research/report/report.ts) — one self-contained page to open in any browser.
import { resolve } from 'node:path';
import { writeReport } from '../research/report/report.ts';

const USAGE = 'usage: npm run report -- <runDir>';
const [dir, ...rest] = process.argv.slice(2);
if (!dir || rest.length > 0 || dir === '-h' || dir === '--help') {
  console.error(USAGE);
  process.exit(dir === '-h' || dir === '--help' ? 0 : 2);
}
try {
  console.log(await writeReport(resolve(dir)));
} catch (err) {
  console.error(`npm run report: ${(err as Error).message}`);
  process.exit(1);
}
