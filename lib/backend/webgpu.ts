/** WebGPU through Dawn's Node binding (npm `webgpu`); only tried when SIMVLM_BACKEND=webgpu. */
export async function initWebGpu(_activate: (name: string) => Promise<void>, _notes: string[]): Promise<{ tfBackend: string; threads: number }> {
  throw new Error("the webgpu route is not wired in yet");
}
