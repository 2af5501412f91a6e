"""Execute one notebook with nbclient through the simvlm kernel and save it with its outputs.

    /usr/bin/python3 scripts/notebooks/execute.py IN.ipynb OUT.ipynb [--timeout SECONDS] [--cwd DIR]

The kernel sends plotly.js (its 1.4 MB cartesian bundle) once per session as an output of its own,
so that the saved notebook and its exported HTML work offline. It is kept, unless the notebook would
pass 4.5 MB (a notebook must stay under 5 MB); then it is removed before saving: figures keep their
Plotly JSON (rendered by JupyterLab, VS Code and other front ends) and their HTML fragment, which
loads plotly.js from the kernelspec folder on a live Jupyter server, and every figure cell also
carries a PNG where one is produced. Prints one JSON line: wall time, errors,
counts of Plotly figures and PNG images, and the saved size. Exit status 1 when a cell failed (the
partly executed notebook is still written, for debugging).
"""
import argparse, json, os, sys, time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

PLOTLY = "application/vnd.plotly.v1+json"


def is_loader(out):
    data = out.get("data", {})
    return out.get("output_type") == "display_data" and data.get("text/plain") == "(plotly.js loader)"


LOADER_START = '<script type="text/javascript">\nif (!window.Plotly) {'


def strip_inline_plotly(html):
    """Drop the inline plotly.js <script> (its own </script tags are escaped, so the first real one ends it)."""
    text = "".join(html) if isinstance(html, list) else html
    start = text.find(LOADER_START)
    if start < 0:
        return html, False
    end = text.find("</script>", start)
    if end < 0:
        return html, False
    return text[:start] + text[end + len("</script>"):].lstrip("\n"), True


def strip_plotly_js(nb):
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.outputs:
            if is_loader(o):
                removed += 1
                continue
            data = o.get("data", {})
            if "text/html" in data:
                data["text/html"], hit = strip_inline_plotly(data["text/html"])
                removed += hit
            kept.append(o)
        cell.outputs = kept
    return removed


def summarise(nb):
    s = {"errors": [], "plotly": 0, "png": 0, "outputs": 0}
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            s["outputs"] += 1
            if out.get("output_type") == "error":
                s["errors"].append({"cell": i, "ename": out.get("ename"), "evalue": out.get("evalue")})
            data = out.get("data", {})
            if PLOTLY in data:
                s["plotly"] += 1
            if "image/png" in data:
                s["png"] += 1
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    ap.add_argument("--cwd", default=None, help="the kernel's working folder (default: the input's folder)")
    a = ap.parse_args()
    nb = nbformat.read(a.inp, as_version=4)
    cwd = a.cwd or os.path.dirname(os.path.abspath(a.inp))
    client = NotebookClient(nb, kernel_name="simvlm", timeout=a.timeout, startup_timeout=120,
                            resources={"metadata": {"path": cwd}})
    t0 = time.time()
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = str(e).splitlines()[-1] if str(e) else "cell failed"
    except Exception as e:  # kernel died, timeout
        failed = f"{type(e).__name__}: {e}"
    wall = time.time() - t0
    # The kernel's plotly.js output (the 1.4 MB cartesian bundle, once per session) stays, so the
    # notebook and its nbconvert HTML draw their figures offline; it is dropped only if the file
    # would otherwise pass the 5 MB budget.
    stripped = strip_plotly_js(nb) if len(nbformat.writes(nb)) > 4_500_000 else 0
    nbformat.validate(nb)
    nbformat.write(nb, a.out)
    s = summarise(nb)
    s.update({"notebook": a.inp, "out": a.out, "wall_s": round(wall, 1), "bytes": os.path.getsize(a.out), "failed": failed, "plotly_js_removed": stripped})
    print(json.dumps(s), flush=True)
    return 1 if failed or s["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
