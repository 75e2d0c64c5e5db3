/**
 * Production time divided by a scale, for a local network (`npm run testnet`, `npm run scenario`):
 * at 60, a day-long settlement interval lasts 24 minutes, hourly rollovers and oracle events come
 * every minute, and blocks every 10 s, so the 12-block CET lock and the 216-block refund lock keep
 * their meaning in blocks. Each figure is whole seconds, never below its floor.
 */
export interface CompressedTime {
  /** Settlement interval, s. */
  readonly settlement: number;
  /** Rollover interval, s. */
  readonly rollover: number;
  /** Oracle event spacing, s. */
  readonly events: number;
  /** Seconds between blocks. */
  readonly block: number;
}

/** The testnet's floors: long enough for a person watching the UI. */
export const TESTNET_FLOORS: CompressedTime = {
  settlement: 60,
  rollover: 10,
  events: 10,
  block: 1,
};

export function compressedTime(
  scale: number,
  floors: CompressedTime = TESTNET_FLOORS,
): CompressedTime {
  const at = (secs: number, floor: number) => Math.max(floor, Math.round(secs / scale));
  return {
    settlement: at(86_400, floors.settlement),
    rollover: at(3_600, floors.rollover),
    events: at(3_600, floors.events),
    block: at(600, floors.block),
  };
}
