"""Kernel start-up to first result, and the round trip of `1+1`, for each kernel named on the
command line, measured with the same jupyter_client code (run by bench/kernel-startup.ts).

usage: kernel-roundtrip.py [--n N] KERNEL_NAME...
prints one JSON line per kernel: {"kernel", "first_result_s", "ready_s", "median_ms", "p95_ms",
"distinct_median_ms", "distinct_p95_ms", "n"}
"""
import json
import statistics
import sys
import time

from jupyter_client.manager import KernelManager


def measure(name, n):
    t0 = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        ready = time.perf_counter() - t0
        got = {}
        kc.execute_interactive("1+1", timeout=120, output_hook=lambda m: got.setdefault("r", m) if m["msg_type"] == "execute_result" else None)
        first = time.perf_counter() - t0
        times = []
        for _ in range(n):
            a = time.perf_counter()
            kc.execute_interactive("1+1", timeout=60, output_hook=lambda m: None)
            times.append((time.perf_counter() - a) * 1000)
        times.sort()
        # Distinct cells: a kernel may cache work for repeated identical code (a type-checker does).
        distinct = []
        for i in range(n):
            a = time.perf_counter()
            kc.execute_interactive(f"{i}+1", timeout=60, output_hook=lambda m: None)
            distinct.append((time.perf_counter() - a) * 1000)
        distinct.sort()
        return {"distinct_median_ms": round(statistics.median(distinct), 2), "distinct_p95_ms": round(distinct[int(0.95 * (len(distinct) - 1))], 2),"kernel": name, "ready_s": round(ready, 3), "first_result_s": round(first, 3),
                "median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), "n": n,
                "result": got.get("r", {}).get("content", {}).get("data", {}).get("text/plain")}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


if __name__ == "__main__":
    args = sys.argv[1:]
    n = 50
    if args[:1] == ["--n"]:
        n = int(args[1])
        args = args[2:]
    for name in args:
        print(json.dumps(measure(name, n)), flush=True)
