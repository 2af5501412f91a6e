import type { Worker } from "node:worker_threads";
/** kernel/<entry>.ts bundled into one plain JavaScript file, or undefined when that is not possible. */
export declare function workerBundle(entry: string): Promise<string | undefined>;
/** A worker running kernel/<entry>.ts (bundled when possible); its failure ends the process. */
export declare function startWorker(entry: string, workerData: unknown): Promise<Worker>;
/** The kernel's language worker for these options, started once per process. */
export declare function startLanguageWorker(opts: {
  cwd: string;
  typecheck: boolean;
}): Promise<Worker>;
/** The source files a bundle was built from (absolute paths), or undefined when they are not recorded. */
export declare function bundleInputs(bundle: string): string[] | undefined;
