"""Execute a small TypeScript notebook with nbclient on the simvlm kernel, save it, export it to
HTML with nbconvert, and print a JSON summary of the outputs (checked by nbclient.test.ts).

usage: run_notebook.py OUT.ipynb OUT.html
"""
import json
import sys

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

CELLS = [
    "const xs: number[] = [1, 2, 3]\nxs.map((x) => x * 2)",
    'console.log("sum", xs.reduce((a, b) => a + b))',
    'display.plotly({ data: [{ type: "scatter", y: xs }], layout: { title: { text: "xs" } } })',
    'import { Rng } from "simvlm"\nnew Rng(7).next() < 1',
]

nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
nb.metadata["kernelspec"] = {"name": "simvlm", "display_name": "SimVLM (TypeScript)", "language": "typescript"}
NotebookClient(nb, kernel_name="simvlm", timeout=180, startup_timeout=120).execute()
nbformat.write(nb, sys.argv[1])
html, _ = HTMLExporter().from_notebook_node(nb)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(html)

summary = []
for cell in nb.cells:
    outs = []
    for o in cell.outputs:
        entry = {"output_type": o.output_type}
        if "text" in o:
            entry["text"] = o.text
        if "data" in o:
            entry["mimes"] = sorted(o.data.keys())
            entry["plain"] = o.data.get("text/plain")
            entry["html_len"] = len(o.data.get("text/html", ""))
        outs.append(entry)
    summary.append({"execution_count": cell.execution_count, "outputs": outs})
print(json.dumps({"cells": summary, "language": nb.metadata.get("language_info", {}).get("name")}))
