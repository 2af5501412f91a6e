/**
 * `simvlm data export|check|show`: write a data set as PNG + data.jsonl, or check a data set and
 * list every bad record. Exit codes: 0 ok, 1 bad records found (check), 2 usage or input error.
 */
import { parseArgs, str, num, bool, optStr, flagNames, UsageError } from "../args.ts";
import { exportDataset, checkData, openStream, DATA_FORMATS } from "../../lib/data/index.ts";
import { UserError } from "../../lib/errors.ts";

const HELP = `usage:
  simvlm data export --source shapes|openmoji|tuxpaint --out DIR [--split train|val|test] [--n N]
                     [--seed S] [--size PX] [--lang en|de|fr]
      Writes DIR/images/*.png and DIR/data.jsonl (one JSON record per image: id, image, text,
      captions/annotations; "text" is the weak alt-text for shapes). Same seed → byte-identical files.
      shapes also writes DIR/world.json (vocabulary and the colour+shape pairs held out of train).
      Defaults: --split train --n 100 --seed 0 --size 64. openmoji installs itself on first use
      (npm install --no-save openmoji); tuxpaint needs apt package tuxpaint-stamps-default.

  simvlm data check [--format ${DATA_FORMATS.join("|")}] [--images DIR] [--json] PATH
      Reads every record (images decoded), prints counts and every bad record (file, record,
      reason). Exit 0 when all records are good, 1 when any is bad, 2 when PATH cannot be read.
      The format is guessed from the name when omitted (.jsonl .csv/.tsv .json=COCO .tar .txt, or a
      folder holding .tar shards or a data.jsonl). PATH may also be openmoji or tuxpaint.

  simvlm data show [--source S] [--split S] [--n N] [--seed S]
      Prints the first N examples of a stream (text, and image size when present).`;

export default async function data(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  try {
    if (sub === "export") return await runExport(rest);
    if (sub === "check") return await runCheck(rest);
    if (sub === "show") return await runShow(rest);
    throw new UsageError(`unknown subcommand "${sub}" (export, check, show)`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`simvlm data: ${e.message}\n\n${HELP}`);
      return 2;
    }
    if (e instanceof UserError) {
      console.error(`simvlm data: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function runExport(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: {
      source: "string",
      split: "string",
      n: "number",
      seed: "number",
      out: "string",
      size: "number",
      lang: "string",
    },
    booleans: ["help"],
  });
  if (bool(a, "help")) {
    console.log(HELP);
    return 0;
  }
  const r = await flagNames({ source: "source", split: "split", n: "n" }, () =>
    exportDataset({
      source: str(a, "source", "shapes"),
      split: str(a, "split", "train") as "train" | "val" | "test",
      n: num(a, "n", 100),
      seed: num(a, "seed", 0),
      out: str(a, "out"),
      imageSize: num(a, "size", 64),
      spec: a.flags.lang ? { lang: str(a, "lang") } : undefined,
    }),
  );
  console.log(
    `wrote ${r.records} records to ${r.out} (data.jsonl, images/)${r.skipped ? `; skipped ${r.skipped} bad source records` : ""}`,
  );
  return 0;
}

async function runCheck(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: { format: "string", images: "string", text: "string" },
    booleans: ["help", "json"],
  });
  if (bool(a, "help")) {
    console.log(HELP);
    return 0;
  }
  const path = a.positionals[0];
  if (!path || a.positionals.length > 1) throw new UsageError("data check takes exactly one PATH");
  // checkData (openStream) checks the format and names it.
  const format = optStr(a, "format");
  const r = await checkData({
    source: path,
    format,
    ...(a.flags.images ? { images: str(a, "images") } : {}),
    ...(a.flags.text ? { text: str(a, "text") } : {}),
  });
  if (bool(a, "json")) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(
      `${path}: ${r.records} records, ${r.good} good (${r.imageText} image-text, ${r.textOnly} text-only), ${r.bad.length} bad`,
    );
    for (const b of r.bad)
      console.log(`  bad  ${b.file}${b.record !== undefined ? ` [${b.record}]` : ""}: ${b.reason}`);
  }
  return r.bad.length ? 1 : 0;
}

async function runShow(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: { source: "string", split: "string", n: "number", seed: "number", every: "number" },
    booleans: ["help"],
  });
  if (bool(a, "help")) {
    console.log(HELP);
    return 0;
  }
  const s = await openStream(
    {
      source: str(a, "source", "shapes"),
      split: (optStr(a, "split") ?? "train") as "train" | "val" | "test",
      textOnlyEvery: num(a, "every", 0),
      repeat: false,
    },
    { seed: num(a, "seed", 0) },
  );
  for (const x of await s.next(num(a, "n", 5)))
    console.log(
      `${x.image ? `[${x.image.width}×${x.image.height}]` : "[text]"} ${x.id}: ${x.text}`,
    );
  await s.close?.();
  return 0;
}
