// Types for lab/prereqs.mjs.
export const LAB_PYTHON_MODULES: string[];
export const LAB_DEBIAN_PACKAGES: string[];
export function pythons(): string[];
export function hasModules(py: string, mods: string[]): boolean;
export function findPython(mods: string[]): string | undefined;
export { which, aptPrefix, aptCommand, aptInstall } from "../scripts/prereqs.mjs";
