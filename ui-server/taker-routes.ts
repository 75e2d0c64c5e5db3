/**
 * The taker's limits over the API: `GET /api/taker/limits` shows them, `PUT /api/taker/limits`
 * changes any of their fields. A change is written to the node's data dir and applies at once:
 * the offer list marks offers outside the new limits, the next order and rollover are checked
 * against them, and a CFD whose auto-rollover paused for a limit is tried again. A maker has no
 * taker limits and gets a 409 saying so.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  InvalidTakerLimitsError,
  type TakerLimitsStore,
  type TakerLimitsView,
} from '../node/daemon/taker-limits.ts';
import { IllegalCommandError, ValidationError } from './errors.ts';
import { parseInput, TakerLimitsBody } from './schemas.ts';
import type { UiService } from './service.ts';

/** Asks for the password again (routes.ts `reauthenticate`). */
export type Reauthenticate = (
  request: FastifyRequest,
  password: string | undefined,
  what: string,
) => Promise<void>;

export function registerTakerRoutes(
  app: FastifyInstance,
  service: UiService,
  reauth: Reauthenticate,
): void {
  const store = (): TakerLimitsStore => {
    const limits = service.daemon.limits;
    if (!limits) {
      throw new IllegalCommandError(
        'this node is a maker: it has no taker limits (its terms are its policy)',
      );
    }
    return limits;
  };

  app.get('/api/taker/limits', async (): Promise<TakerLimitsView> => store().current);

  app.put('/api/taker/limits', async (request): Promise<TakerLimitsView> => {
    const limits = store();
    const { password, ...patch } = parseInput(TakerLimitsBody, request.body);
    await reauth(request, password, 'changing the taker limits');
    try {
      return await limits.update(patch);
    } catch (err) {
      if (err instanceof InvalidTakerLimitsError) {
        throw new ValidationError(`invalid limits: ${err.message}`);
      }
      throw err;
    }
  });
}
