// Crash safety: a child appends in a loop and is killed with SIGKILL mid-write. After reopening,
// the log has no partial batch, positions and versions are contiguous, and projections rebuild to
// what folding the streams gives.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CfdReadModel } from '../../eventstore/cfd-read-model.ts';
import { CfdRepository } from '../../eventstore/cfd-repository.ts';
import { EventStore, type RecordedEvent } from '../../eventstore/event-store.ts';
import { uiState } from '../../model/cfd.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Starts the writer, waits until it is busy, lets it run `ms` more, then SIGKILLs it. */
async function runAndKill(dir: string, runId: number, ms: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(runId)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_c, s) => resolve(s)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', () => reject(new Error(`writer exited before it was killed: ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll(all.length);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

describe('eventstore crash safety (SIGKILL)', function () {
  this.timeout(120_000);

  it('leaves no partial batch, contiguous versions, and projections that rebuild', async () => {
    const dir = await tempDir();
    try {
      for (const [run, ms] of [
        [1, 50],
        [2, 230],
        [3, 120],
      ] as const) {
        await runAndKill(dir.path, run, ms);
        const store = await EventStore.open(dir.path);
        try {
          const all = await readEverything(store);
          assert.ok(all.length > 600, `the writer got far enough (${all.length} events)`);
          assert.deepEqual(
            all.map((e) => e.position),
            Array.from({ length: all.length }, (_, i) => i + 1),
            'global positions are contiguous',
          );
          const streams = new Map<string, RecordedEvent[]>();
          for (const e of all) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
          for (const [id, events] of streams) {
            assert.deepEqual(
              events.map((e) => e.version),
              Array.from({ length: events.length }, (_, i) => i + 1),
              `versions of ${id} are contiguous`,
            );
            // batches: [placed, setup started, setup completed], [lock], then rollovers of 3
            const n = events.length;
            assert.ok(
              n === 3 || (n >= 4 && (n - 4) % 3 === 0),
              `${id} has a partial batch (${n} events)`,
            );
            assert.deepEqual(await store.readStream(id), events);
          }
          // the projection as the child left it, resumed, equals folding every stream
          const repo = new CfdRepository(store);
          const resumed = await CfdReadModel.open(store);
          const projected = await resumed.all();
          await resumed.close();
          assert.equal(projected.length, streams.size);
          for (const cfd of projected) {
            assert.deepEqual(cfd, await repo.load(cfd.terms!.id));
            assert.ok(['pendingOpen', 'open'].includes(uiState(cfd)));
          }
          await CfdReadModel.reset(store);
          const rebuilt = await CfdReadModel.open(store);
          assert.deepEqual(await rebuilt.all(), projected);
          await rebuilt.close();
        } finally {
          await store.close();
        }
      }
    } finally {
      await dir.cleanup();
    }
  });
});
