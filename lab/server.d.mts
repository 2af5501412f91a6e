// Types for lab/server.mjs.
import type { ChildProcess } from "node:child_process";
export const LAB_SRC: string;
export function freePort(): Promise<number>;
export function childPids(pid: number): number[];
export interface ServerHandle {
  proc: ChildProcess;
  /** SIGTERM, wait, then kill the group and any kernel left. */
  stop(): Promise<void>;
  /** Kill the group and every kernel seen, synchronously. */
  stopNow(): void;
  log(): string;
  /** Child processes of the server still alive (its kernels). */
  kernels(): number[];
}
export function spawnServer(
  cmd: string,
  argv: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv; capture?: boolean; graceMs?: number },
): ServerHandle;
export function waitForHttp(
  url: string,
  proc: ChildProcess,
  ms?: number,
  log?: () => string,
): Promise<void>;
export function labServerArgv(buildDir: string, options?: string[]): string[];
