// Types for lab/prereqs.mjs.
export const LAB_PYTHON_MODULES: string[];
export const LAB_DEBIAN_PACKAGES: string[];
export function which(name: string): string | undefined;
export function pythons(): string[];
export function hasModules(py: string, mods: string[]): boolean;
export function findPython(mods: string[]): string | undefined;
export function aptPrefix(): string[] | undefined;
export function aptCommand(pkgs: string[]): string;
export function aptInstall(pkgs: string[], opts?: { run?: (cmd: string, argv: string[], opts?: object) => number; log?: (line: string) => void }): { ok: true } | { ok: false; why: string };
