/**
 * The base of the project's named errors: `name` is the subclass's own class name, so logs, API
 * responses and callers branching on `name` see it without each class setting it again.
 */
export class NamedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
