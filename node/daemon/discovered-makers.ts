/**
 * The taker's connections to makers it heard of on the offer gossip (issue #17), bounded against a
 * stranger. Announcements are signed, but peer ids cost nothing to mint and an envelope's `addrs`
 * are whatever its maker wrote, so without bounds:
 * - a flood of made-up makers would fill every dial place for good (an eclipse: an honest maker
 *   heard later is never dialled), since a place was never given back;
 * - made-up makers announcing someone else's address would have every taker dial that victim
 *   again and again;
 * - each made-up maker's connection would report its health into the node's registry, so one
 *   envelope with an unreachable address turned the node's overall health `down`.
 *
 * So: at most `maxConnections` discovered makers at once; a place is given back when the maker
 * leaves the book (disconnected, silent past the maker timeout, or evicted from a full book)
 * while not connected — it is dialled again, at the addresses it announces then, when heard
 * again — unless the node `keep`s it (it traded with the maker, or the user prefers it: their CFDs need the connection
 * whatever the gossip says); when full, a newcomer takes the place of a discovered maker that is
 * not connected and not kept (connected makers have proved they listen where they said); past a
 * burst of `maxConnections`, at most `maxNewPerMinute` new makers are dialled a minute; and each connection's health stays its own
 * (the order book shows whether a maker is connected, from the maker records). Libp2p's Noise
 * handshake proves the peer dialled at an address is the announcing maker (`/p2p/<maker>` is
 * appended to each address), so a victim's address costs the victim a refused handshake, no more.
 */

/** A running connection (node/daemon/market.ts `superviseMakerConnection`). */
export interface MakerConnection {
  stop(): Promise<void>;
}

export interface DiscoveredMakersOptions {
  /** Most discovered makers connected or being dialled at once. */
  readonly maxConnections: number;
  /**
   * New makers dialled per minute once the burst is spent (a token bucket).
   * @default MAX_NEW_MAKERS_PER_MINUTE
   */
  readonly maxNewPerMinute?: number;
  /** New makers dialled at once before the rate applies. @default maxConnections */
  readonly burst?: number;
  /** Starts keeping a connection to `maker` at `addrs`. */
  readonly connect: (maker: string, addrs: readonly string[]) => MakerConnection;
  /** Makers whose place is never given back nor taken (traded with, preferred). */
  readonly keep: (maker: string) => boolean;
  /** Whether the node has a connection to `maker` now. */
  readonly connected: (maker: string) => boolean;
  /** Unix ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * New makers a taker dials a minute once it has dialled a whole set of places' worth (the burst):
 * a market's makers are all dialled at once on start, while a flood churning through the places
 * makes it dial at most this many strangers a minute (each at ≤ 16 addresses).
 */
export const MAX_NEW_MAKERS_PER_MINUTE = 32;

export class DiscoveredMakers {
  readonly #o: DiscoveredMakersOptions;
  readonly #clock: () => number;
  /** Insertion order = the order first dialled. */
  readonly #connections = new Map<string, MakerConnection>();
  readonly #burst: number;
  #tokens: number;
  #refilledAt: number;

  constructor(options: DiscoveredMakersOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#burst = options.burst ?? options.maxConnections;
    this.#tokens = this.#burst;
    this.#refilledAt = this.#clock();
  }

  /** The makers with a place now. */
  get makers(): string[] {
    return [...this.#connections.keys()];
  }

  has(maker: string): boolean {
    return this.#connections.has(maker);
  }

  /**
   * `maker` was heard at `addrs` (a verified envelope): dials it if it has no place yet and one
   * can be had. Returns whether it has a place now.
   */
  heard(maker: string, addrs: readonly string[]): boolean {
    if (this.#connections.has(maker)) return true;
    if (addrs.length === 0) return false;
    const now = this.#clock();
    const perMinute = this.#o.maxNewPerMinute ?? MAX_NEW_MAKERS_PER_MINUTE;
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#refilledAt) * perMinute) / 60_000,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    if (this.#connections.size >= this.#o.maxConnections) {
      const victim = [...this.#connections.keys()].find(
        (m) => !this.#o.keep(m) && !this.#o.connected(m),
      );
      if (victim === undefined) return false;
      this.#release(victim);
    }
    this.#tokens -= 1;
    this.#connections.set(maker, this.#o.connect(maker, addrs));
    return true;
  }

  /** `maker` left the book: its place is given back unless the node keeps it or is connected. */
  gone(maker: string): void {
    if (!this.#connections.has(maker) || this.#o.keep(maker) || this.#o.connected(maker)) return;
    this.#release(maker);
  }

  /** Stops every connection. */
  async stop(): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((c) => c.stop()));
  }

  #release(maker: string): void {
    const c = this.#connections.get(maker);
    this.#connections.delete(maker);
    void c?.stop();
  }
}
