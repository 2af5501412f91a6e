// Runs the `tokenizers` package's BPE trainer in a child process: the native trainer writes
// progress newlines straight to file descriptor 1, which would corrupt a CLI's --json output.
// argv: <skeleton tokenizer.json> <corpus.txt> <out tokenizer.json>
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { Tokenizer } = require("tokenizers");
const [skeleton, corpus, out] = process.argv.slice(2);
const tk = Tokenizer.fromString(readFileSync(skeleton, "utf8"));
tk.train([corpus]);
tk.save(out, false);
