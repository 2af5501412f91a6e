/** Types for test/proc-guard.mjs (plain JavaScript so that node loads it with --import before tsx). */
export const TREE_VAR: string;
export const OWN_TOKEN: string;
export function newToken(prefix?: string): string;
export function envWithToken(token: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function processesWithToken(token: string): { pid: number; cmd: string }[];
export function killTree(token: string, signal?: NodeJS.Signals): { pid: number; cmd: string }[];
