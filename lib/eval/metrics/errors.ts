/** Bad metric input: the message names the input (file, id, field) so nothing fails silently. */
export class EvalInputError extends Error {
  constructor(message: string) { super(message); this.name = "EvalInputError"; }
}
