/**
 * The job loop of both kinds of worker thread: pre/post-processing workers run kernels by name
 * (from the table their entry hands to `serveJobs`); inference threads host onnxruntime sessions
 * (see onnx-session.ts); both collect their garbage when asked. Results go back with their typed
 * arrays transferred, with when the request started (process clock) and how long it ran.
 */
import "../native/loader.ts"; // native set-up before session-host.ts loads onnxruntime
import { collectTransferables } from "./transfer.ts";
import { processClockMs } from "./stage-timing.ts";
import { collectGarbage, type ReleaseDepth } from "./allocator.ts";
import { INFERENCE_NICE, isSearchThread, lowerOwnPriority, PREPROCESSING_NICE, raiseOwnPriority } from "./thread-priority.ts";
import type { SessionRequest } from "./onnx-session.ts";
import type { HostedSession } from "./session-host.ts";
import { AbandonedError } from "./request-scope.ts";

/**
 * Kernels by name: pure functions of one structured-cloneable argument. The tasks own theirs; the
 * composition root gathers them into the table a thread entry serves (runtime knows no task).
 */
export type KernelTable = Readonly<Record<string, (args: never) => unknown>>;

declare const self: Worker;

/** Accelerator sessions hosted by this thread; shared (CPU) sessions are native handles any thread runs. */
const hostedSessions = new Map<number, HostedSession>();
let nextHosted = 1;

async function handleSession(request: SessionRequest): Promise<unknown> {
  // Loaded on first use so kernel workers never load onnxruntime.
  const host = await import("./session-host.ts");
  const native = await import("./ort-capi.ts");
  switch (request.op) {
    case "create": {
      const created = await host.createSession(request.path, request.settings);
      const providers = host.availableProviders();
      if ("shared" in created)
        return {
          session: created.shared.handle,
          shared: true,
          inputs: created.shared.inputs,
          outputNames: created.shared.outputNames,
          provider: "cpu",
          providers,
          ...(created.sharing ? { sharing: created.sharing } : {}),
        };
      const id = nextHosted++;
      hostedSessions.set(id, created.hosted);
      return {
        session: id,
        shared: false,
        inputs: created.hosted.inputs,
        outputNames: created.hosted.outputNames,
        provider: created.hosted.provider,
        providers,
      };
    }
    case "run": {
      if (request.abandon && Atomics.load(request.abandon, 0) === 1) throw new AbandonedError();
      const reduce = request.reduce === "best-class";
      if (request.shared) return native.runNativeSession(request.session, request.outputNames, request.feeds, reduce);
      const hosted = hostedSessions.get(request.session);
      if (!hosted) throw new Error("session was released");
      return host.runHostedSession(hosted, request.feeds, reduce);
    }
    case "shorten": {
      const { createSequenceVariants } = await import("./sequence-variants.ts");
      const full = { handle: request.session, outputNames: request.outputNames };
      return createSequenceVariants(request.path, full, request.context, request.settings, request.sharing, request.lengths, request.probes);
    }
    case "release": {
      if (request.shared) {
        for (const variant of request.variants ?? []) native.releaseNativeSession(variant);
        native.releaseNativeSession(request.session);
        if (request.sharing) (await import("./sequence-variants.ts")).releaseWeightSharing(request.sharing);
        // What its largest runs held in the shared arena goes back with it.
        native.trimSharedArena();
        return null;
      }
      const hosted = hostedSessions.get(request.session);
      hostedSessions.delete(request.session);
      await hosted?.session.release();
      return null;
    }
    case "share-arena":
      native.registerSharedArena();
      return null;
    case "trim-arena":
      native.trimSharedArena();
      return null;
  }
}

interface WorkerMessage {
  id: number;
  kernel?: string;
  args?: unknown;
  session?: SessionRequest;
  /** Collect this thread's garbage now (the process is idle; see allocator.ts). */
  gc?: ReleaseDepth;
}

let prioritized = false;

async function handle(kernels: KernelTable, message: WorkerMessage): Promise<void> {
  const { id, kernel, args, session } = message;
  const startedMs = processClockMs();
  try {
    if (!prioritized && !message.gc) {
      // The first job tells what this thread is for; onnxruntime's threads, created later by a
      // session, inherit its tier (see thread-priority.ts). The search thread is raised by its
      // first session's creation, which carries the nice asked for.
      if (!isSearchThread()) {
        prioritized = true;
        lowerOwnPriority(session ? INFERENCE_NICE : PREPROCESSING_NICE);
      } else if (session?.op === "create") {
        prioritized = true;
        // Where refused, it stays at 0; the main thread's own raise says so (raiseServingThread).
        raiseOwnPriority(session.settings.searchNice ?? 0);
      }
    }
    let value: unknown = null;
    if (message.gc) {
      collectGarbage(message.gc);
    } else if (session) {
      value = await handleSession(session);
    } else {
      const fn = kernels[kernel!] as ((a: unknown) => unknown) | undefined;
      if (!fn) throw new Error(`unknown kernel ${String(kernel)}`);
      value = await fn(args);
    }
    self.postMessage({ id, ok: true, value, startedMs, runMs: processClockMs() - startedMs }, collectTransferables(value));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    self.postMessage({ id, ok: false, error: reason, abandoned: error instanceof AbandonedError, startedMs, runMs: processClockMs() - startedMs });
  }
}

/**
 * Serves this thread's jobs, one at a time, in arrival order. Under Bun a session run occupies
 * this thread anyway (two runs posted together take as long as two in a row), but `session.run`
 * returns before its work starts, so without the queue a second request would be timed from while
 * the first ran. Search queries never wait here behind library-scan work: their sessions have a
 * thread of their own.
 */
export function serveJobs(kernels: KernelTable): void {
  const queued: WorkerMessage[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queued.length > 0) {
        await handle(kernels, queued.shift()!);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      draining = false;
    }
  }

  self.addEventListener("message", (event: MessageEvent) => {
    // Checked here, not in the job loop: a message that is not a job is a bug, and an error thrown
    // from this listener ends the thread (uncaught), so its callers fail at once (onnx-session.ts,
    // worker-pool.ts) instead of waiting on a thread in an unknown state.
    const message = event.data as WorkerMessage | null;
    if (typeof message?.id !== "number") throw new Error("worker thread received a message that is not a job");
    queued.push(message);
    if (!draining) void drain();
  });
}
