// Event store figures:
// - eventstore.append_durable: events/s with many CFDs appending concurrently, each append
//   awaited (durable, fsync'd, when its promise resolves).
// - eventstore.append_latency_p99: ms from append call to durable, under that load.
// - eventstore.replay_100k: ms to rebuild the CFD read model from 100,000 events.
// - eventstore.resume_100k: ms to open the read model over the same log from its checkpoint.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { EventStore } from '../../eventstore/event-store.ts';
import { type Cfd, type CfdEvent, decide, EMPTY_CFD, fold } from '../../model/cfd.ts';
import { sampleCommands, T0, terms } from '../../test/helpers/cfd-fixtures.ts';
import { LIFECYCLES } from '../../test/helpers/cfd-scenarios.ts';

const WRITERS = 256;
const APPEND_SECONDS = 5;
const REPLAY_EVENTS = 100_000;

const figure = (name: string, value: number, unit: string): void => {
  console.log(`${name} ${Math.round(value)} ${unit}`);
};

async function appendDurable(dir: string): Promise<void> {
  const store = await EventStore.open(dir);
  const latencies: number[] = [];
  const deadline = performance.now() + APPEND_SECONDS * 1000;
  let events = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let v = 0; performance.now() < deadline; v++) {
        const t = performance.now();
        await store.append(`cfd-${w}`, v, [{ type: 'LockConfirmed', data: {} }]);
        latencies.push(performance.now() - t);
        events++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const { writes } = store.stats();
  await store.close();
  latencies.sort((a, b) => a - b);
  figure('eventstore.append_durable', events / seconds, 'events/s');
  figure('eventstore.append_latency_p99', latencies[Math.floor(latencies.length * 0.99)]!, 'ms');
  figure('eventstore.events_per_fsync', events / writes, 'events');
}

/** Fills a log with ~`total` events of real CFD lifecycles, one append per CFD. */
async function fill(store: EventStore, total: number): Promise<void> {
  let written = 0;
  for (let i = 0; written < total; ) {
    const chunk: Promise<unknown>[] = [];
    for (let k = 0; k < 500 && written < total; k++, i++) {
      const id = `cfd-${i}`;
      const commands = sampleCommands(terms({ id, role: i % 3 ? 'taker' : 'maker' }));
      const events: CfdEvent[] = [];
      let cfd: Cfd = EMPTY_CFD;
      for (const type of LIFECYCLES[i % LIFECYCLES.length]!) {
        if (written + events.length >= total) break;
        const e = decide(cfd, commands[type], T0 + 3600);
        cfd = fold(e, cfd);
        events.push(...e);
      }
      written += events.length;
      chunk.push(store.append(id, 0, events));
    }
    await Promise.all(chunk);
  }
}

async function replay(dir: string): Promise<void> {
  let store = await EventStore.open(dir);
  await fill(store, REPLAY_EVENTS);
  await store.close();

  store = await EventStore.open(dir);
  let t = performance.now();
  const rebuilt = await CfdReadModel.open(store);
  figure('eventstore.replay_100k', performance.now() - t, 'ms');
  if (rebuilt.applied !== REPLAY_EVENTS) throw new Error(`replayed ${rebuilt.applied} events`);
  await rebuilt.close();
  await store.close();

  store = await EventStore.open(dir);
  t = performance.now();
  const resumed = await CfdReadModel.open(store);
  figure('eventstore.resume_100k', performance.now() - t, 'ms');
  figure('eventstore.resume_open_cfds', resumed.openCfds().length, 'cfds');
  await resumed.close();
  await store.close();
}

export async function eventstore(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'dlcfd-bench-'));
  try {
    await appendDurable(join(root, 'append'));
    await replay(join(root, 'replay'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
