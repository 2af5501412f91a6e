"""Interrupt long cells through jupyter_client and report what came back.

Usage: interrupts.py KERNEL_NAME MODE < cases.json   (MODE: message | signal)

`cases.json` is a list of {name, code, ready?, delay?, then?}. Each case's code runs; once a line of
its output matches `ready` (a regex; or after `delay` seconds) the client calls
KernelManager.interrupt_kernel() — with the kernelspec's interrupt_mode replaced by MODE, so
"signal" sends SIGINT to the kernel's process group as jupyter_client does — and times the
execute_reply. Then `then` (if any) runs as the next cell. Prints one JSON line: a result per case
{name, status, ename, seconds, text, then: {status, ename, result, text}}.
Run by test/kernel/interrupts.test.ts.
"""
import json
import re
import sys
import time

from jupyter_client.manager import start_new_kernel

TIMEOUT = 240


def output_text(msg):
    c = msg["content"]
    if msg["msg_type"] == "stream":
        return c["text"]
    if msg["msg_type"] in ("display_data", "update_display_data", "execute_result"):
        return c["data"].get("text/plain", "") + "\n"
    if msg["msg_type"] == "error":
        return "%s: %s\n" % (c["ename"], c["evalue"])
    return ""


def run(kc, code, km=None, ready=None, delay=None):
    """Execute code; interrupt it once ready (when km is given); return the reply, its output and timing."""
    msg_id = kc.execute(code)
    text, seconds, interrupted_at = "", None, None
    started = time.time()
    done = False
    while not done:
        try:
            m = kc.get_iopub_msg(timeout=0.05)
        except Exception:  # queue.Empty: nothing new yet
            m = None
        if m is not None and m["parent_header"].get("msg_id") == msg_id:
            text += output_text(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                done = True
        if km is not None and interrupted_at is None and not done:
            if (ready is not None and re.search(ready, text)) or (ready is None and delay is not None and time.time() > started + delay):
                interrupted_at = time.time()
                km.interrupt_kernel()
        if time.time() > started + TIMEOUT:
            raise TimeoutError("no idle for %r; output so far:\n%s" % (code, text))
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    # The reply came before idle; time to idle is what a user waits for.
    if interrupted_at is not None:
        seconds = round(time.time() - interrupted_at, 3)
    c = reply["content"]
    return {"status": c["status"], "ename": c.get("ename"), "seconds": seconds, "text": text, "interrupted": interrupted_at is not None}


def main():
    kernel, mode = sys.argv[1], sys.argv[2]
    cases = json.load(sys.stdin)
    km, kc = start_new_kernel(kernel_name=kernel, startup_timeout=TIMEOUT)
    km.kernel_spec.interrupt_mode = mode
    results = []
    try:
        for case in cases:
            r = run(kc, case["code"], km, case.get("ready"), case.get("delay"))
            r["name"] = case["name"]
            if case.get("then"):
                t = run(kc, case["then"])
                m = re.search(r"^(.*)$", t["text"].strip().split("\n")[-1]) if t["text"].strip() else None
                t["result"] = m.group(1) if m else None
                r["then"] = t
            results.append(r)
            sys.stderr.write("%s: %s %s after %ss\n" % (case["name"], r["status"], r["ename"], r["seconds"]))
    finally:
        print(json.dumps(results))
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
