/**
 * Worker-thread entry, for both kinds of worker: pre/post-processing workers run kernels by name;
 * the inference thread hosts the onnxruntime sessions (see onnx-session.ts). Results go back with
 * their typed arrays transferred.
 */
import "../native/loader.ts"; // first: native set-up before any kernel code loads
import { kernels } from "./kernel-table.ts";
import { collectTransferables } from "./transfer.ts";
import type { SessionRequest } from "./onnx-session.ts";

declare const self: Worker;

/** Sessions hosted by this thread (only the inference thread ever creates any). */
const sessions = new Map<number, import("./session-host.ts").HostedSession>();
let nextSession = 1;

async function handleSession(request: SessionRequest): Promise<unknown> {
  // Loaded on first use so kernel workers never load onnxruntime.
  const host = await import("./session-host.ts");
  switch (request.op) {
    case "create": {
      const hosted = await host.createHostedSession(request.path, request.settings);
      const id = nextSession++;
      sessions.set(id, hosted);
      return { session: id, inputs: hosted.inputs, outputNames: hosted.outputNames, provider: hosted.provider };
    }
    case "run": {
      const hosted = sessions.get(request.session);
      if (!hosted) throw new Error("session was released");
      return host.runHostedSession(hosted, request.feeds);
    }
    case "release": {
      const hosted = sessions.get(request.session);
      sessions.delete(request.session);
      await hosted?.session.release();
      return null;
    }
  }
}

self.addEventListener("message", async (event: MessageEvent) => {
  const { id, kernel, args, session } = event.data as { id: number; kernel?: keyof typeof kernels; args?: unknown; session?: SessionRequest };
  try {
    let value: unknown;
    if (session) {
      value = await handleSession(session);
    } else {
      const fn = kernels[kernel!] as ((a: unknown) => unknown) | undefined;
      if (!fn) throw new Error(`unknown kernel ${String(kernel)}`);
      value = await fn(args);
    }
    self.postMessage({ id, ok: true, value }, collectTransferables(value));
  } catch (error) {
    self.postMessage({ id, ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
