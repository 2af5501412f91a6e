/**
 * The one base class for errors caused by the user's input — a config field, a data record, a flag,
 * a file, a wire message, a figure request. Whoever reports errors (the CLI, the kernel) recognises
 * them with `instanceof UserError` and shows the message alone, without a stack trace: the message
 * already names the input (file, field, shape). Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  /**
   * The option (a field of an options object, e.g. "batchSize") whose value is wrong, when the error
   * is about one; the message then starts with that name. A caller that exposes the option under
   * another name — the CLI's `--batch` — rewords the message with it (cli/args.ts `flagNames`), so
   * each value is validated once, in the library.
   */
  readonly option?: string;
  constructor(message: string, options?: ErrorOptions & { option?: string }) {
    super(message, options);
    this.name = new.target.name;
    if (options?.option !== undefined) this.option = options.option;
  }
}
