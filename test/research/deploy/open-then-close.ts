/**
 * A strategy plugin for the remote runner's test on the namespace hosts (netns.spec.ts): opens
 * on its first tick (on `spec.side`, at the actor's first leverage and fewest lots) and closes on
 * its first tick from run second 24 on — long enough for the position to roll over at least once
 * at the hosts network's 10-second rollovers.
 */
import type { Strategy } from '../../../research/scenario/types.ts';

/** From this run second the actor closes. */
export const CLOSE_FROM_SECS = 24;

const openThenClose: Strategy = {
  decide: ({ atSecs, holding, spec }) => {
    if (!holding) {
      if (atSecs >= CLOSE_FROM_SECS) return null;
      return {
        action: 'open',
        side: spec.side ?? 'long',
        lots: spec.lots[0],
        leverage: spec.leverages[0]!,
      };
    }
    return atSecs >= CLOSE_FROM_SECS ? { action: 'close' } : null;
  },
};

export default openThenClose;
