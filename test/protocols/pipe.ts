// The in-memory wire both protocol harnesses (order/harness.ts, rollover/harness.ts) drive their
// machines over: a pipe per direction carrying encoded messages, and a transport that decodes with
// the protocol's wire schema and lets a side misbehave (tamper, drop, go silent).
import type { z } from 'zod';
import type { Transport } from '../../protocols/driver.ts';
import { decode, encode, ProtocolTimeoutError, StreamClosedError } from '../../protocols/wire.ts';

/** One end of a pipe: what the other side wrote, as bytes. */
export class Pipe {
  readonly #queue: Uint8Array[] = [];
  #waiter: (() => void) | undefined;
  /** The writer is gone: reads fail at once (a reset, or a timeout's worth of silence). */
  ended: 'closed' | 'silent' | 'reset' | undefined;

  push(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#waiter?.();
  }

  end(how: 'closed' | 'silent' | 'reset'): void {
    this.ended ??= how;
    this.#waiter?.();
  }

  async next(): Promise<Uint8Array> {
    for (;;) {
      const bytes = this.#queue.shift();
      if (bytes) return bytes;
      if (this.ended === 'silent') throw new ProtocolTimeoutError('timed out reading a message');
      if (this.ended) throw new StreamClosedError(`peer ${this.ended} the stream`);
      await new Promise<void>((r) => {
        this.#waiter = r;
      });
      this.#waiter = undefined;
    }
  }
}

/** How a side misbehaves on its way out: a function of each message it is about to send. */
export type Tamper<Message> = (
  message: Message,
) => Message | Uint8Array | 'drop' | 'silence' | undefined;

/** A machine transport over two pipes; `sent` lists what it wrote (before any tampering). */
export class PipeTransport<S extends z.ZodType<{ readonly type: string }>>
  implements Transport<z.output<S>, z.output<S>['type']>
{
  readonly #schema: S;
  readonly #in: Pipe;
  readonly #out: Pipe;
  readonly #tamper: Tamper<z.output<S>> | undefined;
  readonly #onSend: ((message: z.output<S>) => void) | undefined;
  readonly sent: z.output<S>[] = [];
  aborted = false;

  constructor(
    schema: S,
    inbound: Pipe,
    outbound: Pipe,
    options: { tamper?: Tamper<z.output<S>>; onSend?: (message: z.output<S>) => void } = {},
  ) {
    this.#schema = schema;
    this.#in = inbound;
    this.#out = outbound;
    this.#tamper = options.tamper;
    this.#onSend = options.onSend;
  }

  async read(): Promise<z.output<S>> {
    return decode(await this.#in.next(), this.#schema);
  }

  async write(message: z.output<S>): Promise<void> {
    if (this.#out.ended === 'reset') throw new StreamClosedError('stream reset');
    const t = this.#tamper?.(message);
    if (t === 'drop') return;
    if (t === 'silence') {
      this.#out.end('silent');
      this.#in.end('silent');
      return;
    }
    this.sent.push(message);
    this.#onSend?.(message);
    this.#out.push(t instanceof Uint8Array ? t : encode(t ?? message));
  }

  async close(): Promise<void> {
    this.#out.end('closed');
  }

  abort(): void {
    this.aborted = true;
    this.#out.end('reset');
    this.#in.end('reset');
  }
}
