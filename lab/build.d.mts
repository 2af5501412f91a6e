// Types for lab/build.mjs (plain JavaScript so that `npm start` runs it before any install).
export type LabMode = "production" | "development";
export const LAB_SRC: string;
export const DEFAULT_MODE: LabMode;
export class LabBuildError extends Error {
  step: "install" | "bundle";
  command?: string;
}
export interface LabPlan {
  mode: LabMode;
  root: string;
  installDir: string;
  appDir: string;
  buildDir: string;
  installed: boolean;
  built: boolean;
  command: string;
}
export function labCacheRoot(env?: NodeJS.ProcessEnv): string;
export function labPlan(mode?: LabMode, env?: NodeJS.ProcessEnv): LabPlan;
export function ensureLab(opts?: {
  mode?: LabMode;
  log?: (line: string) => void;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<LabPlan>;
