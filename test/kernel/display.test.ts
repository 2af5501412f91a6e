/**
 * The display path's pure parts: the one JSON serialiser (each kind of value JSON.stringify gets
 * wrong), a bundle's Plotly JSON and its HTML copy carrying the same data, the one HTML escaper,
 * and the one progress line that the terminal and the kernel both render.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml } from "../../lib/display/html.ts";
import { DisplayValueError, toJson, toJsonValue } from "../../lib/display/json.ts";
import { plotlyFigureHtml } from "../../lib/display/plotly.ts";
import { UserError } from "../../lib/errors.ts";
import {
  describeProgress,
  progressText,
  throttledProgress,
  type ProgressLine,
} from "../../lib/runtime.ts";
import { completeBundle } from "../../kernel/display.ts";

const PLOTLY = "application/vnd.plotly.v1+json";
/** The figure JSON inside a plotlyFigureHtml fragment. */
const htmlFigure = (html: string) =>
  JSON.parse(
    /var fig = (.*);\n/
      .exec(html)![1]!
      .replace(/\\u003c/g, "<")
      .replace(/\\u003e/g, ">")
      .replace(/\\u0026/g, "&"),
  );

describe("display serialiser", () => {
  it("typed arrays become arrays of numbers, nested ones nested arrays", () => {
    assert.deepEqual(toJsonValue(new Float32Array([0.5, 0.25, 0.125])), [0.5, 0.25, 0.125]);
    assert.deepEqual(toJsonValue({ z: [new Int8Array([1, -2]), new Uint16Array([3])] }), {
      z: [[1, -2], [3]],
    });
    assert.deepEqual(toJsonValue(new Float64Array([1, NaN, Infinity])), [1, null, null]);
    assert.deepEqual(
      toJsonValue(Buffer.from("hi")),
      [104, 105],
      "a Buffer is a typed array, not its toJSON object",
    );
    assert.deepEqual(toJsonValue(new BigInt64Array([1n, 2n ** 62n])), [1, "4611686018427387904"]);
  });
  it("ArrayBuffer and DataView become their bytes (the view's window only)", () => {
    const bytes = new Uint8Array([9, 8, 7]);
    assert.deepEqual(toJsonValue(bytes.buffer), [9, 8, 7]);
    assert.deepEqual(toJsonValue(new DataView(bytes.buffer, 1, 2)), [8, 7]);
  });
  it("BigInt becomes a number when safe, else its decimal string", () => {
    assert.deepEqual(toJsonValue({ a: 10n, b: -(2n ** 60n), c: BigInt(Number.MAX_SAFE_INTEGER) }), {
      a: 10,
      b: "-1152921504606846976",
      c: Number.MAX_SAFE_INTEGER,
    });
  });
  it("NaN and ±Infinity become null everywhere (Plotly's gap)", () => {
    assert.equal(
      toJson({ x: [NaN, Infinity, -Infinity, 1], y: NaN }),
      '{"x":[null,null,null,1],"y":null}',
    );
  });
  it("Map becomes an object (string/number keys) or [key, value] pairs; Set an array", () => {
    assert.deepEqual(
      toJsonValue(
        new Map<unknown, unknown>([
          ["a", 1],
          [2, new Set([3])],
        ]),
      ),
      { a: 1, 2: [3] },
    );
    assert.deepEqual(toJsonValue(new Map([[{ k: 1 }, "v"]])), [[{ k: 1 }, "v"]]);
    assert.deepEqual(toJsonValue(new Set(["x", new Float32Array([1])])), ["x", [1]]);
  });
  it("Date becomes ISO 8601 (null when invalid), toJSON results are serialised by the same rules", () => {
    assert.deepEqual(toJsonValue([new Date(0), new Date(NaN)]), ["1970-01-01T00:00:00.000Z", null]);
    assert.deepEqual(
      toJsonValue({ t: { toJSON: (key: string) => ({ key, y: new Float32Array([2]) }) } }),
      { t: { key: "t", y: [2] } },
    );
  });
  it("undefined, functions and symbols: null in arrays, left out of objects; holes are null", () => {
    // eslint-disable-next-line no-sparse-arrays
    assert.equal(
      toJson({ a: [undefined, () => 1, Symbol("s"), , 4], b: undefined, c: () => 1 }),
      '{"a":[null,null,null,null,4]}',
    );
  });
  it("Error and RegExp become readable strings; tensors their nested arrays", () => {
    assert.deepEqual(toJsonValue([new RangeError("bad"), /a+/g]), ["RangeError: bad", "/a+/g"]);
    const tensor = { shape: [2, 1], dtype: "float32", arraySync: () => [[1], [2]], dataId: {} };
    assert.deepEqual(toJsonValue({ z: tensor }), { z: [[1], [2]] });
  });
  it("repeated objects are written out twice; a cycle is an error naming its path", () => {
    const shared = { v: 1 };
    assert.deepEqual(toJsonValue([shared, shared]), [{ v: 1 }, { v: 1 }]);
    const fig: Record<string, any> = { data: [{ marker: {} }] };
    fig.data[0].marker.owner = fig.data[0];
    assert.throws(
      () => toJsonValue(fig, "figure"),
      (e: Error) =>
        e instanceof DisplayValueError &&
        e instanceof UserError &&
        /^figure\.data\[0\]\.marker\.owner: .*cycle/.test(e.message),
    );
    const odd: Record<string, unknown> = {};
    odd["a b"] = odd;
    assert.throws(() => toJsonValue(odd), /value\["a b"\]: /);
    assert.throws(
      () =>
        toJsonValue({
          t: {
            shape: [1],
            arraySync() {
              throw new Error("Tensor is disposed");
            },
          },
        }),
      /value\.t\.arraySync\(\) failed: Tensor is disposed/,
    );
  });
  it("keeps an own __proto__ key a key", () => {
    assert.equal(toJson(JSON.parse('{"__proto__": {"x": 1}}')), '{"__proto__":{"x":1}}');
  });
});

describe("display bundles", () => {
  it("a Plotly figure's JSON and its HTML copy carry the same, serialised data", () => {
    const bundle = completeBundle({
      [PLOTLY]: {
        data: [{ type: "scatter", y: new Float32Array([0.5, 0.25, 0.125]), x: [1n, 2n] }],
        layout: { title: "T" },
      },
    });
    const json = bundle[PLOTLY] as { data: Record<string, unknown>[] };
    assert.deepEqual(json.data[0]!.y, [0.5, 0.25, 0.125]);
    assert.deepEqual(json.data[0]!.x, [1, 2]);
    assert.deepEqual(htmlFigure(bundle["text/html"] as string).data, json.data);
    assert.match(bundle["text/plain"] as string, /Plotly figure "T": 1 trace \(scatter\)/);
  });
  it("the standalone HTML of a figure serialises the same way", () => {
    assert.deepEqual(htmlFigure(plotlyFigureHtml({ data: [{ y: new Int32Array([3, 4]) }] })).data, [
      { y: [3, 4] },
    ]);
  });
  it("application/json and +json types pass the serialiser; text types must be strings", () => {
    const b = completeBundle({
      "application/json": { m: new Map([["k", new Uint8Array([1])]]) },
      "application/x.thing+json": [NaN],
    });
    assert.deepEqual(b["application/json"], { m: { k: [1] } });
    assert.deepEqual(b["application/x.thing+json"], [null]);
    assert.equal(completeBundle({ "image/png": new Uint8Array([1, 2, 3]) })["image/png"], "AQID");
    assert.equal(completeBundle({ "text/plain": 5 })["text/plain"], "5");
    assert.throws(
      () => completeBundle({ "text/html": { not: "a string" } }),
      /display: "text\/html" must be a string, got Object/,
    );
    assert.throws(
      () => completeBundle({ [PLOTLY]: { data: "nope" } }),
      /must be a Plotly figure with a "data" array/,
    );
  });
  // Issue 17 item 2: what a viewer shows without running scripts or trusting the notebook.
  it("a figure's static picture sits inside its HTML, where the script replaces it", () => {
    const png = Buffer.from("\x89PNG fake").toString("base64");
    const b = completeBundle({ [PLOTLY]: { data: [{ y: [1] }] }, "image/png": png });
    const html = b["text/html"] as string;
    const img = /<div id="[^"]+" class="simvlm-plotly"[^>]*><img src="([^"]+)" alt="([^"]*)"/.exec(
      html,
    );
    assert.ok(img, html.slice(0, 300));
    assert.equal(img[1], `data:image/png;base64,${png}`);
    assert.equal(img[2], "Plotly figure: 1 trace (scatter)");
    assert.equal(b["image/png"], png, "the PNG stays in the bundle for exporters that skip HTML");
    assert.match(html, /el\.textContent = ""/, "drawing removes the picture");
    const svg = completeBundle({ [PLOTLY]: { data: [] }, "image/svg+xml": "<svg/>" });
    assert.ok(
      (svg["text/html"] as string).includes(
        `<img src="data:image/svg+xml;base64,${btoa("<svg/>")}"`,
      ),
    );
    const none = completeBundle({ [PLOTLY]: { data: [] } })["text/html"] as string;
    assert.doesNotMatch(none, /<img/);
    assert.match(none, /min-height:420px/, "without a picture the div keeps the figure's room");
  });
  it("markdown gets an HTML rendering beside it: tables with their alignment, no script", () => {
    const md = "**Runs**\n\n| run | loss |\n|:---|---:|\n| a *b* | 1.5 |";
    const b = completeBundle({ "text/markdown": md, "text/plain": md });
    assert.equal(b["text/markdown"], md);
    const html = b["text/html"] as string;
    assert.match(html, /<p><strong>Runs<\/strong><\/p>/);
    assert.match(
      html,
      /<th align="left" style="text-align: left"><div align="left">run<\/div><\/th>/,
    );
    assert.match(
      html,
      /<td align="right" style="text-align: right"><div align="right">1\.5<\/div><\/td>/,
    );
    assert.match(
      html,
      /<td align="left" style="text-align: left"><div align="left">a <em>b<\/em><\/div><\/td>/,
    );
    assert.doesNotMatch(html, /\*\*|\| ?---|<script/);
    const own = completeBundle({ "text/markdown": "x", "text/html": "<b>x</b>" });
    assert.equal(own["text/html"], "<b>x</b>", "a bundle's own HTML is kept");
  });
});

describe("html escaper", () => {
  it("escapes the five characters markup gives meaning to", () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});

describe("progress line", () => {
  it("says label, bar, step/total, message, metrics, elapsed and eta in one place", () => {
    const line = describeProgress(
      "train",
      { step: 3, total: 10, message: "warmup", metrics: { loss: 2.3456789, step: 3 } },
      { elapsedMs: 1500 },
    );
    assert.deepEqual(line, {
      label: "train",
      step: 3,
      total: 10,
      fraction: 0.3,
      count: "3/10",
      details: ["warmup", "loss 2.346 · step 3", "1.5s", "eta 4s"],
    });
    assert.equal(
      progressText(line, 10),
      "train [###.......] 3/10 · warmup · loss 2.346 · step 3 · 1.5s · eta 4s",
    );
    const done = describeProgress("scan", { step: 7 }, { elapsedMs: 200, final: "done" });
    assert.equal(progressText(done), "scan 7 · 0.2s · done", "no bar and no eta without a total");
  });
  it("redraws at most ten times a second, always the first and the final line", () => {
    const drawn: { line: ProgressLine; first: boolean; final: boolean }[] = [];
    let clock = 1000;
    const p = throttledProgress(
      (line, o) => drawn.push({ line, ...o }),
      () => clock,
    )("x", 100);
    for (let i = 1; i <= 50; i++) {
      p.update({ step: i });
      clock += 10;
    } // 50 updates over 0.5 s
    p.done("ok");
    assert.deepEqual(
      drawn.map((d) => d.line.step),
      [1, 11, 21, 31, 41, 50],
    );
    assert.deepEqual(
      [drawn[0]!.first, drawn[1]!.first, drawn.at(-1)!.final, drawn.at(-1)!.line.details.at(-1)],
      [true, false, true, "ok"],
    );
    assert.equal(drawn.at(-1)!.line.details.at(-2), "0.5s");
  });
});

describe("markdown tables (display.markdown)", () => {
  it("align text columns left and number columns right unless the table says otherwise", async () => {
    const { alignTables } = await import("../../kernel/markdown-tables.ts");
    const md = [
      "Runs:",
      "",
      "| run | seed | val_loss | cider | note |",
      "|---|---|---|---:|:-:|",
      "| random T_p | 0 | 2.31 ± 0.04 | **0.52** | a \\| b |",
      "| none | 1 | — | 12% | x |",
      "",
      "| a | b |",
      "|---|---|",
      "| `x` | 1,024 |",
    ].join("\n");
    const out = alignTables(md).split("\n");
    assert.equal(
      out[3],
      "|:---|---:|---:|---:|:-:|",
      "text left, numbers (± spreads, bold, dashes for missing) right, stated alignments kept",
    );
    assert.equal(out[8], "|:---|---:|");
    assert.equal(
      out.filter((_, i) => i !== 3 && i !== 8).join("\n"),
      md
        .split("\n")
        .filter((_, i) => i !== 3 && i !== 8)
        .join("\n"),
      "nothing else changes",
    );
    assert.equal(alignTables("a | b\nno table here"), "a | b\nno table here");
  });
});
