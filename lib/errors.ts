/**
 * The one base class for errors caused by the user's input — a config field, a data record, a flag,
 * a file, a wire message, a figure request. Whoever reports errors (the CLI, the kernel) recognises
 * them with `instanceof UserError` and shows the message alone, without a stack trace: the message
 * already names the input (file, field, shape). Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
