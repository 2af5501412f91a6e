"""Run execute requests through jupyter_client against one kernel and print what came back.

Usage: flags_and_input.py KERNEL_NAME < cases.json  (a JSON list of {code, kw?, input?})

For each case: the iopub message types of the request (up to its idle), the reply's status and
execution_count, the result's text/plain and the text of each stream. A stream message is listed as
"stream:<name>", and consecutive messages of one stream count once: the messaging spec leaves how a
kernel chunks a stream's text to the kernel (ipykernel sometimes sends print's "p" and its newline
as two messages), so only the order of streams and their joined text are compared. A case with
"input" answers the kernel's input_request with KernelClient.input(), which sends an input_reply
whose parent header is empty (as jupyter_console does). Run by test/kernel/jupyter-client.test.ts
for ipykernel and for simvlm, so the two kernels' answers can be compared.
"""
import json
import sys

from jupyter_client.manager import start_new_kernel

TIMEOUT = 90


def run(kc, case):
    msg_id = kc.execute(case["code"], **case.get("kw", {}))
    asked = None
    if "input" in case:
        request = kc.get_stdin_msg(timeout=TIMEOUT)
        asked = [request["msg_type"], request["content"]["prompt"], request["parent_header"].get("msg_id") == msg_id]
        kc.input(case["input"])
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    types, result, streams = [], None, {}
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            name = m["content"]["name"]
            streams[name] = streams.get(name, "") + m["content"]["text"]
            if types and types[-1] == f"stream:{name}":
                continue
            types.append(f"stream:{name}")
            continue
        types.append(m["msg_type"])
        if m["msg_type"] == "execute_result":
            result = m["content"]["data"].get("text/plain")
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    return {"types": types, "status": reply["content"]["status"], "count": reply["content"]["execution_count"],
            "result": result, "asked": asked, "streams": streams}


def main():
    cases = json.load(sys.stdin)
    km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=TIMEOUT)
    try:
        print(json.dumps([run(kc, case) for case in cases]))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
