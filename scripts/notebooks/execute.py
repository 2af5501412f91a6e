"""Execute one notebook with nbclient through the simvlm kernel and save it with its outputs.

    /usr/bin/python3 scripts/notebooks/execute.py IN.ipynb OUT.ipynb [--timeout SECONDS] [--cwd DIR]

The kernel's one-time plotly.js loader output (a 4.7 MB inline script, "(plotly.js loader)") is
dropped before saving: figures stay as Plotly JSON (rendered by JupyterLab, VS Code, nbviewer-like
tools) plus their HTML fragment, and the file stays small. Prints one JSON line: wall time, errors,
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
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not is_loader(o)]
    nbformat.validate(nb)
    nbformat.write(nb, a.out)
    s = summarise(nb)
    s.update({"notebook": a.inp, "out": a.out, "wall_s": round(wall, 1), "bytes": os.path.getsize(a.out), "failed": failed})
    print(json.dumps(s), flush=True)
    return 1 if failed or s["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
