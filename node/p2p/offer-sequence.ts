/**
 * The maker's envelope sequence kept in the datadir (`offer-seq.json`, `{ version: 1, ceiling }`):
 * the ceiling on every `seq` its offer envelopes carried (protocols/offer/envelope.ts
 * {@link EnvelopeSequence}), written atomically before an envelope above the old one leaves. A
 * maker restarted with its clock stepped back continues above what takers accepted instead of
 * being refused until the clock catches up.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { NamedError } from '../../model/named-error.ts';
import type { SequenceStore } from '../../protocols/offer/index.ts';
import { writeFileAtomic } from '../runtime/atomic-file.ts';

export const OFFER_SEQUENCE_FILE = 'offer-seq.json';

/** The sequence file exists but is not one this node wrote: refusing to guess a seq. */
export class OfferSequenceFileError extends NamedError {}

const fileSchema = z.object({
  version: z.literal(1),
  ceiling: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/** The {@link SequenceStore} of `<datadir>/offer-seq.json`. */
export function offerSequenceFile(datadir: string): SequenceStore {
  const path = join(datadir, OFFER_SEQUENCE_FILE);
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new OfferSequenceFileError(`${path} is not JSON`, { cause: err });
      }
      const r = fileSchema.safeParse(parsed);
      if (!r.success) throw new OfferSequenceFileError(`${path}: ${r.error.issues[0]?.message}`);
      return r.data.ceiling;
    },
    save: (ceiling) => writeFileAtomic(path, `${JSON.stringify({ version: 1, ceiling })}\n`),
  };
}
