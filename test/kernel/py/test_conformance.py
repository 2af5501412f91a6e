"""Debian's jupyter_kernel_test against the simvlm kernel, every attribute filled (none skipped).

Run by test/kernel/conformance.test.ts with JUPYTER_PATH pointing at a temporary
`simvlm kernel install --prefix DIR`, so the user's own kernelspecs are never touched.
"""
import unittest

import jupyter_kernel_test as jkt

# The first cell type-checks against a cold TypeScript service: allow for a loaded CI machine.
jkt.TIMEOUT = 90


class SimVLMKernelTests(jkt.KernelTests):
    kernel_name = "simvlm"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("some error")'

    completion_samples = [
        {"text": "Math.P", "matches": {"PI"}},
        {"text": "[1, 2].fla", "matches": {"flat", "flatMap"}},
    ]

    complete_code_samples = ["1", "console.log('hi')", "function f() { return 1 }", "const xs = [1, 2]"]
    incomplete_code_samples = ["function f() {", "const xs = [1,", "if (true) {", "const s = `abc"]
    invalid_code_samples = ["const = 1;", "1 +* 2", "let x = );"]

    code_page_something = "?Math.max"

    code_generate_error = "throw new Error('boom')"

    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "({ [Symbol.for('Jupyter.display')]() { return { 'text/html': '<b>hi</b>', 'text/plain': 'hi' } } })", "mime": "text/html", "result": "<b>hi</b>"},
    ]

    code_display_data = [
        # The session's first Plotly figure is followed by one more display_data that defines plotly.js
        # (text/html only) and jupyter_kernel_test wants every display_data of a cell to carry the
        # sample's mime: so the first figure is checked for text/html, which both outputs carry.
        {"code": "display.plotly({ data: [{ y: [2, 1] }] })", "mime": "text/html"},
        {"code": "display.html('<b>bold</b>')", "mime": "text/html"},
        {"code": "display.markdown('# title')", "mime": "text/markdown"},
        {"code": "display.png(new Uint8Array([137, 80, 78, 71]))", "mime": "image/png"},
        {"code": "display.plotly({ data: [{ y: [1, 3, 2] }] })", "mime": "application/vnd.plotly.v1+json"},
    ]

    code_history_pattern = "*6?7*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    unittest.main()
