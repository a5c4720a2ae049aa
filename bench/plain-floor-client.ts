/**
 * The orchestrator's side of bench/plain-floor.mjs: as many plain processes per runtime (Node and
 * Bun) as the service has inference threads. Per scenario the faster runtime is chosen (interleaved
 * single requests); latency asks one of its processes, throughput all of them at once, as plain
 * processes decoding and running back to back would use the cores the service's inference threads
 * use.
 */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import type { FloorId } from "./scenarios.ts";
import { sessionSettingsFor, type SessionSettings } from "../src/runtime/onnx-session.ts";

export type Runtime = "node" | "bun";

export interface PlainRun {
  decodeMs: number;
  runMs: number;
  /** Each session run: the model's label (`<name>/<type>`) and its milliseconds. */
  steps: Array<[string, number]>;
}

type Question =
  | { op: "once" | "decode"; id: FloorId }
  | { op: "rate"; id: FloorId; seconds: number }
  | { op: "part"; id: FloorId; label: string; part: number; parts: number };

/** The environment of a process nobody tuned: none of the allocator settings the service may use. */
function plainEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("MALLOC_") && key !== "GLIBC_TUNABLES" && !key.startsWith("IMMICH_ML_")) env[key] = value;
  }
  return env;
}

class PlainProcess {
  private readonly waiting = new Map<number, (value: unknown) => void>();
  private seq = 1;
  readonly ready: Promise<unknown>;
  private readonly child: Subprocess<"pipe", "pipe", "inherit">;

  /** `settings`: the service's (from /health), whose thread counts the plain floor copies, a search query's session's included. */
  constructor(runtime: Runtime, planFolder: string, settings: SessionSettings) {
    const executable = runtime === "node" ? "node" : process.execPath;
    const searchIntraOpThreads = sessionSettingsFor(settings, { interactive: true }).intraOpThreads;
    const counts = [settings.intraOpThreads, settings.interOpThreads, searchIntraOpThreads].map(String);
    this.child = Bun.spawn([executable, resolve(import.meta.dir, "plain-floor.mjs"), planFolder, ...counts], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
      env: plainEnvironment(),
    });
    this.ready = new Promise((resolve) => this.waiting.set(0, resolve));
    void this.readReplies();
  }

  private async readReplies(): Promise<void> {
    let pending = "";
    for await (const chunk of this.child.stdout) {
      pending += new TextDecoder().decode(chunk);
      for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n")) {
        const reply = JSON.parse(pending.slice(0, newline)) as { seq: number; value: unknown };
        pending = pending.slice(newline + 1);
        this.waiting.get(reply.seq)?.(reply.value);
        this.waiting.delete(reply.seq);
      }
    }
  }

  ask<T>(question: Question): Promise<T> {
    const seq = this.seq++;
    const answer = new Promise<T>((resolve) => this.waiting.set(seq, resolve as (value: unknown) => void));
    this.child.stdin.write(`${JSON.stringify({ ...question, seq })}\n`);
    this.child.stdin.flush();
    return answer;
  }

  async stop(): Promise<void> {
    this.child.kill();
    await this.child.exited;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export class PlainFloor {
  private readonly chosen = new Map<FloorId, Runtime>();

  private constructor(private readonly processes: Record<Runtime, PlainProcess[]>) {}

  static async start(planFolder: string, settings: SessionSettings): Promise<PlainFloor> {
    const spawn = (runtime: Runtime) => Array.from({ length: Math.max(1, settings.inferenceThreads) }, () => new PlainProcess(runtime, planFolder, settings));
    const processes = { node: spawn("node"), bun: spawn("bun") };
    await Promise.all([...processes.node, ...processes.bun].map((p) => p.ready));
    return new PlainFloor(processes);
  }

  /** One request of `id` on every process of both runtimes: a session's first runs are slow. */
  async warm(id: FloorId): Promise<void> {
    await Promise.all([...this.processes.node, ...this.processes.bun].map((p) => p.ask<PlainRun>({ op: "once", id })));
  }

  /** Picks the faster runtime for `id` from `rounds` single requests on each, interleaved. */
  async choose(id: FloorId, rounds = 5): Promise<Runtime> {
    const times: Record<Runtime, number[]> = { node: [], bun: [] };
    for (let i = 0; i < rounds; i++) {
      for (const runtime of ["node", "bun"] as const) {
        const run = await this.processes[runtime][0]!.ask<PlainRun>({ op: "once", id });
        times[runtime].push(run.decodeMs + run.runMs);
      }
    }
    const runtime = median(times.node) <= median(times.bun) ? "node" : "bun";
    this.chosen.set(id, runtime);
    return runtime;
  }

  /** One request's decodes alone, on the runtime not chosen for `id`. */
  otherDecode(id: FloorId): Promise<number> {
    return this.processes[this.otherRuntime(id)][0]!.ask<number>({ op: "decode", id });
  }

  otherRuntime(id: FloorId): Runtime {
    return this.runtimeFor(id) === "node" ? "bun" : "node";
  }

  runtimeFor(id: FloorId): Runtime {
    return this.chosen.get(id) ?? "node";
  }

  once(id: FloorId): Promise<PlainRun> {
    return this.processes[this.runtimeFor(id)][0]!.ask<PlainRun>({ op: "once", id });
  }

  /**
   * The runs of `id`'s `label` steps with each batch split in `parts` shares, as the service runs
   * a lone request's batch on its idle inference threads: the shares side by side on the chosen
   * runtime's processes (one per inference thread), each process taking every P-th share in turn
   * where there are more shares than processes (a batch size limit below the batch). Their
   * milliseconds summed, as the service's stage timers sum its runs.
   */
  async split(id: FloorId, label: string, parts: number): Promise<number> {
    const processes = this.processes[this.runtimeFor(id)];
    const times = await Promise.all(
      processes.slice(0, parts).map(async (process, first) => {
        let ms = 0;
        for (let part = first; part < parts; part += processes.length) ms += await process.ask<number>({ op: "part", id, label, part, parts });
        return ms;
      }),
    );
    return times.reduce((sum, ms) => sum + ms, 0);
  }

  /** Requests per second of all processes of the chosen runtime together, back to back for `seconds`. */
  async rate(id: FloorId, seconds: number): Promise<number> {
    const rates = await Promise.all(this.processes[this.runtimeFor(id)].map((p) => p.ask<number>({ op: "rate", id, seconds })));
    return rates.reduce((sum, r) => sum + r, 0);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.node, ...this.processes.bun].map((p) => p.stop()));
  }
}
