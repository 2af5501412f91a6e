/** Errors raised by lib/train. */
import { UserError } from "../errors.ts";

/** A checkpoint that cannot be read or written: missing, truncated or corrupted file. `file` names it. */
export class CheckpointError extends UserError {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Bad training options (the message starts with the option's name, which `option` holds). */
export class TrainConfigError extends UserError {}

/**
 * The loss or the gradient norm became NaN/Infinity; the step was not applied. Not the user's input
 * as such (usually a learning rate too high for the model), but the CLI prints it as one line too.
 */
export class TrainDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainDivergedError";
  }
}
