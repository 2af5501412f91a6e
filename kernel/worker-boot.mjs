// Worker threads do not inherit the tsx loader that bin/simvlm.js registers on the main thread,
// so each kernel worker starts here, registers tsx, then loads its TypeScript entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
