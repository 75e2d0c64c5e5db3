/** Named errors of the runtime. */

export class RuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The component a message was sent to is stopped (or stopping). Callers handle it like any other
 * failed request: report it, retry later, or give up. It never crashes the sender.
 */
export class DisconnectedError extends RuntimeError {
  readonly component: string;
  constructor(component: string) {
    super(`${component} is not running`);
    this.component = component;
  }
}

/** A mailbox is full: the component is not keeping up, so the sender is told instead of queued. */
export class MailboxFullError extends RuntimeError {}
