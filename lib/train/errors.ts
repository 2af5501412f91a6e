/** Errors raised by lib/train. */

/** A checkpoint that cannot be read or written: missing, truncated or corrupted file. `file` names it. */
export class CheckpointError extends Error {
  constructor(message: string, readonly file?: string) { super(message); this.name = "CheckpointError"; }
}

/** Bad training options (the message names the option). Named "ConfigError" so the CLI prints it without a stack. */
export class TrainConfigError extends Error {
  constructor(message: string) { super(message); this.name = "ConfigError"; }
}
