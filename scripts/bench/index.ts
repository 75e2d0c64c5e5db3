// `npm run bench -- <name…>`: runs benchmarks, each printing one figure per line as
// `<name> <value> <unit>` so runs can be compared across commits. No name runs them all.
import { dlc } from './dlc.ts';
import { eventstore } from './eventstore.ts';
import { fees } from './fees.ts';
import { maker } from './maker.ts';
import { scale } from './scale.ts';
import { setup } from './setup.ts';

const benches: Record<string, () => Promise<void>> = {
  dlc,
  eventstore,
  fees,
  maker,
  scale,
  setup,
};

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  await bench();
}
