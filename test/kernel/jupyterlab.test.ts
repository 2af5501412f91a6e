/**
 * The path JupyterLab takes: Debian's jupyter_server hosts the kernel (kernelspec from a temp
 * `kernel install --prefix`), and JupyterLab's own client library, @jupyterlab/services, starts a
 * session, executes a cell and receives a display over the server's websocket.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import {
  KernelManager,
  ServerConnection,
  SessionManager,
  KernelSpecManager,
} from "@jupyterlab/services";
import { exitWhenDone, installTempKernelspec } from "./client.ts";

// Node 20 has no global WebSocket; @jupyterlab/services takes the `ws` package's (it has no bundled types).
const WebSocket = createRequire(import.meta.url)("ws") as typeof globalThis.WebSocket;
import { startJupyter } from "./server.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

it(
  "jupyter_server + @jupyterlab/services: session, execute, display",
  { skip: skipUnless("jupyter_server"), timeout: 300_000 },
  async () => {
    const ks = installTempKernelspec();
    const root = mkdtempSync(join(tmpdir(), "simvlm-lab-"));
    const server = await startJupyter("jupyter_server", root, ks.jupyterPath);
    let sessions: SessionManager | undefined;
    let kernels: KernelManager | undefined;
    let specs: KernelSpecManager | undefined;
    try {
      const serverSettings = ServerConnection.makeSettings({
        baseUrl: server.url,
        wsUrl: server.url.replace(/^http/, "ws"),
        token: server.token,
        appendToken: true,
        WebSocket,
      });
      specs = new KernelSpecManager({ serverSettings });
      await specs.refreshSpecs();
      const spec = specs.specs!.kernelspecs.simvlm!;
      assert.equal(spec.display_name, "SimVLM (TypeScript)");
      assert.equal(spec.language, "typescript");
      assert.ok(spec.resources["logo-64x64"], "logo served");

      kernels = new KernelManager({ serverSettings });
      sessions = new SessionManager({ kernelManager: kernels, serverSettings });
      const session = await sessions.startNew({
        path: "lab.ipynb",
        type: "notebook",
        name: "lab.ipynb",
        kernel: { name: "simvlm" },
      });
      const kernel = session.kernel!;
      const info = await kernel.info;
      assert.equal(info.language_info.name, "typescript");

      const outputs: { type: string; content: any }[] = [];
      const future = kernel.requestExecute({
        code: "const greeting: string = 'hello lab'\ndisplay.html(`<b>${greeting}</b>`, { displayId: 'g' })\ndisplay.html('<b>updated</b>', { displayId: 'g', update: true })\ngreeting.length",
      });
      future.onIOPub = (msg) => {
        outputs.push({ type: msg.header.msg_type, content: msg.content });
      };
      const reply = await future.done;
      assert.equal(reply.content.status, "ok");
      const shown = outputs.find((o) => o.type === "display_data")!;
      assert.equal(shown.content.data["text/html"], "<b>hello lab</b>");
      assert.equal(shown.content.transient.display_id, "g");
      assert.ok(
        outputs.some(
          (o) =>
            o.type === "update_display_data" && o.content.data["text/html"] === "<b>updated</b>",
        ),
      );
      assert.equal(
        outputs.find((o) => o.type === "execute_result")!.content.data["text/plain"],
        "9",
      );
      assert.equal(outputs.at(-1)!.content.execution_state, "idle");

      // Interrupt and restart through the server's REST API, as JupyterLab's toolbar does.
      const spin = kernel.requestExecute({ code: "console.log('spinning'); while (true) {}" });
      await new Promise<void>((resolve) => {
        spin.onIOPub = (m) => {
          if (m.header.msg_type === "stream") resolve();
        };
      });
      await kernel.interrupt();
      assert.equal((await spin.done).content.status, "error");
      const after = kernel.requestExecute({ code: "greeting" });
      assert.equal((await after.done).content.status, "ok");
      await kernel.restart();
      const fresh = kernel.requestExecute({ code: "typeof (globalThis as any).greeting" });
      let result = "";
      fresh.onIOPub = (m) => {
        if (m.header.msg_type === "execute_result") result = (m.content as any).data["text/plain"];
      };
      await fresh.done;
      assert.equal(result, "'undefined'");
      await session.shutdown();
    } finally {
      // Every manager polls the server until disposed; an undisposed one keeps the test process alive.
      sessions?.dispose();
      kernels?.dispose();
      specs?.dispose();
      await server.stop();
      ks.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
