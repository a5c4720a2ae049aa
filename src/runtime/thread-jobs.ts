/**
 * The job loop of both kinds of worker thread: pre/post-processing workers run kernels by name
 * (from the table their entry hands to `serveJobs`); inference threads host onnxruntime sessions
 * (see onnx-session.ts); both collect their garbage when asked. Results go back with their typed
 * arrays transferred, with when the request started (process clock) and how long it ran.
 */
import "../native/loader.ts"; // native set-up before session-host.ts loads onnxruntime
import { collectTransferables } from "./transfer.ts";
import { processClockMs } from "./stage-timing.ts";
import { collectGarbage } from "./allocator.ts";
import { INFERENCE_NICE, isSearchThread, lowerOwnPriority, PREPROCESSING_NICE } from "./thread-priority.ts";
import type { SessionRequest } from "./onnx-session.ts";
import { AbandonedError } from "./request-scope.ts";

/**
 * Kernels by name: pure functions of one structured-cloneable argument. The tasks own theirs; the
 * composition root gathers them into the table a thread entry serves (runtime knows no task).
 */
export type KernelTable = Readonly<Record<string, (args: never) => unknown>>;

declare const self: Worker;

/** Sessions hosted by this thread (only inference threads ever create any). */
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
      return { session: id, inputs: hosted.inputs, outputNames: hosted.outputNames, provider: hosted.provider, providers: host.availableProviders() };
    }
    case "run": {
      const hosted = sessions.get(request.session);
      if (!hosted) throw new Error("session was released");
      if (request.abandon && Atomics.load(request.abandon, 0) === 1) throw new AbandonedError();
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

interface WorkerMessage {
  id: number;
  kernel?: string;
  args?: unknown;
  session?: SessionRequest;
  /** Collect this thread's garbage now (the process is idle; see allocator.ts). */
  gc?: true;
}

let prioritized = false;

async function handle(kernels: KernelTable, message: WorkerMessage): Promise<void> {
  const { id, kernel, args, session } = message;
  const startedMs = processClockMs();
  try {
    if (!prioritized && !message.gc) {
      // The first job tells what this thread is for; onnxruntime's threads, created later by a
      // session, inherit its tier (see thread-priority.ts). The search thread stays at nice 0.
      prioritized = true;
      if (!isSearchThread()) lowerOwnPriority(session ? INFERENCE_NICE : PREPROCESSING_NICE);
    }
    let value: unknown = null;
    if (message.gc) {
      collectGarbage();
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
