/** Undo lists for specs: what a test (or a fixture) opened, closed after it, latest first. */

/** Collects cleanups; run them in an `afterEach` (or `after`). */
export class Cleanups {
  readonly #fns: (() => unknown)[] = [];
  add(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.#fns.splice(0).reverse()) {
      await Promise.resolve()
        .then(fn)
        .catch(() => undefined);
    }
  }
}
