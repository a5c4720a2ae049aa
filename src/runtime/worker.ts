/** Worker-thread entry: runs kernels by name and posts results back (typed arrays transferred). */
import "../native/loader.ts"; // first: native set-up before any kernel code loads
import { kernels } from "./kernel-table.ts";
import { collectTransferables } from "./transfer.ts";

declare const self: Worker;

self.addEventListener("message", async (event: MessageEvent) => {
  const { id, kernel, args } = event.data as { id: number; kernel: keyof typeof kernels; args: unknown };
  try {
    const fn = kernels[kernel] as ((a: unknown) => unknown) | undefined;
    if (!fn) throw new Error(`unknown kernel ${String(kernel)}`);
    const value = await fn(args);
    self.postMessage({ id, ok: true, value }, collectTransferables(value));
  } catch (error) {
    self.postMessage({ id, ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
