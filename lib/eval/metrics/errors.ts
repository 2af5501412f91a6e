import { UserError } from "../../errors.ts";

/** Bad metric or task input: the message names the input (file, id, field, option) so nothing fails silently. */
export class EvalInputError extends UserError {}
