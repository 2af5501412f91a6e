/** Types for scripts/prereqs.mjs (plain JavaScript: it runs before `npm ci`). */
export interface Prereq { apt: string[]; python?: string[]; file?: string; command?: string; usedBy: string }
export type PrereqName = "jupyter_kernel_test" | "jupyter_server" | "notebook" | "nbclient" | "nbconvert" | "chromium" | "torch" | "tuxpaint" | "native" | "redis";
export const PYTHON: string;
export const CHROMIUM: string;
export const PREREQS: Record<PrereqName, Prereq>;
export function checkPrereqs(): Record<PrereqName, boolean>;
export function prereqStatus(): Record<PrereqName, boolean>;
export function installCommand(names: PrereqName[]): string;
export function skipUnless(...names: PrereqName[]): false | string;
export function installHint(name: PrereqName): string;
export function ensurePrereqs(opts?: { log?: (m: string) => void }): { status: Record<PrereqName, boolean>; installed: PrereqName[]; missing: PrereqName[]; note: string };
