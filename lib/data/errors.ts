import { UserError } from "../errors.ts";

/**
 * The one error type lib/data throws for bad input. The message always names the file (or source)
 * and, where there is one, the record, so a user can find and fix the line.
 */
export class DataError extends UserError {
  readonly file?: string;
  readonly record?: string | number;
  /** `option`: the option whose value is wrong (see UserError.option); give it without a file, so the message starts with it. */
  constructor(
    message: string,
    where: { file?: string; record?: string | number; option?: string } = {},
  ) {
    const loc = [where.file, where.record !== undefined ? `record ${where.record}` : undefined]
      .filter(Boolean)
      .join(", ");
    super(
      loc ? `${loc}: ${message}` : message,
      where.option !== undefined ? { option: where.option } : undefined,
    );
    this.file = where.file;
    this.record = where.record;
  }
}

export type OnError = "skip" | "fail";

/** One bad record, as reported by `checkData` and by skipping streams. */
export interface BadRecord {
  file: string;
  record?: string | number;
  reason: string;
}
