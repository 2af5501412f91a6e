/** Types for scripts/prereqs.mjs (plain JavaScript: it runs before `npm ci`). */
export interface Prereq {
  apt: string[];
  python?: string[];
  file?: string;
  command?: string;
  usedBy: string;
}
export type PrereqName =
  | "jupyter_kernel_test"
  | "jupyter_server"
  | "notebook"
  | "nbclient"
  | "nbconvert"
  | "chromium"
  | "torch"
  | "tuxpaint"
  | "native"
  | "redis"
  | "jupyterlab";
export const PYTHON: string;
export const CHROMIUM: string;
export const PREREQS: Record<PrereqName, Prereq>;
export function checkPrereqs(): Record<PrereqName, boolean>;
export function prereqStatus(): Record<PrereqName, boolean>;
export function installCommand(names: PrereqName[]): string;
export function skipUnless(...names: PrereqName[]): false | string;
export function installHint(name: PrereqName): string;
export function ensurePrereqs(opts?: { log?: (m: string) => void }): {
  status: Record<PrereqName, boolean>;
  installed: PrereqName[];
  missing: PrereqName[];
  note: string;
};
export function which(name: string): string | undefined;
export function aptPrefix(): string[] | undefined;
export function aptCommand(pkgs: string[]): string;
export function aptInstall(
  pkgs: string[],
  opts?: {
    run?: (cmd: string, argv: string[], opts?: object) => number;
    log?: (line: string) => void;
  },
): { ok: true } | { ok: false; why: string };
