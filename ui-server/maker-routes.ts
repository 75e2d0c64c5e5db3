/**
 * The maker's policy over the API: `GET /api/maker/policy` shows it, `PUT /api/maker/policy`
 * changes any of its fields. A change is written to the node's data dir and applies at once: the
 * offers are republished, and the next order, settlement and rollover decision reads it. A taker
 * has no policy and gets a 409 saying so.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  InvalidMakerPolicyError,
  type MakerPolicy,
  type MakerPolicyStore,
} from '../node/daemon/maker-policy.ts';
import { IllegalCommandError, ValidationError } from './errors.ts';
import { MakerPolicyBody, parseInput } from './schemas.ts';
import type { UiService } from './service.ts';

/** Asks for the password again (routes.ts `reauthenticate`). */
export type Reauthenticate = (
  request: FastifyRequest,
  password: string | undefined,
  what: string,
) => Promise<void>;

export function registerMakerRoutes(
  app: FastifyInstance,
  service: UiService,
  reauth: Reauthenticate,
): void {
  const store = (): MakerPolicyStore => {
    const policy = service.daemon.policy;
    if (!policy) {
      throw new IllegalCommandError(
        'this node is a taker: it has no maker policy (offers come from its maker)',
      );
    }
    return policy;
  };

  app.get('/api/maker/policy', async (): Promise<MakerPolicy> => store().current);

  app.put('/api/maker/policy', async (request): Promise<MakerPolicy> => {
    const policy = store();
    const { password, ...patch } = parseInput(MakerPolicyBody, request.body);
    await reauth(request, password, 'changing the maker policy');
    try {
      return await policy.update(patch);
    } catch (err) {
      // The fields were fine on their own; together with the rest of the policy they are not.
      if (err instanceof InvalidMakerPolicyError) {
        throw new ValidationError(`invalid policy: ${err.message}`);
      }
      throw err;
    }
  });
}
