import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small valid raw scenario the research specs vary (as a YAML file would give it). */
export function rawScenario(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    durationSecs: 600,
    makers: [{ name: 'maker1', leverages: [1, 2, 5] }],
    takers: [{ prefix: 't', count: 3, actor: { strategy: 'random', everySecs: 10 } }],
    ...over,
  };
}

/** A fresh temporary folder for the calling `describe` (made before, removed after); call the result for its path. */
export function tempDir(prefix: string): () => string {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  return () => dir;
}
