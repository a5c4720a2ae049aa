/**
 * The orchestrator's side of bench/floor-process.ts: the old floor, kept so that the change of
 * floor stays visible. It copies what the service's runs used to get rather than what a user
 * gets without us (that is plain-floor.mjs): the service's own session-host with the arena off,
 * glibc's mmap threshold fixed at 128 KiB, huge-page malloc, nice +10.
 */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import type { BenchCache } from "./cache.ts";
import type { FloorId } from "./scenarios.ts";
import type { SessionSettings } from "../src/runtime/onnx-session.ts";

export type FloorQuestion = { op: "once"; id: FloorId } | { op: "rate"; id: FloorId; seconds: number };
export type FloorRequest = FloorQuestion & { seq: number };
export interface FloorReply {
  seq: number;
  value: unknown;
}

const OLD_FLOOR_NICE = "10";
const OLD_FLOOR_ENV = { MALLOC_MMAP_THRESHOLD_: "131072", GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" };

export class FloorProcess {
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private seq = 1;
  private child: Subprocess | undefined;

  private constructor() {}

  /**
   * Starts the process and waits until it has built every plan and written them to `planFolder`;
   * resolves with faces/lines per request.
   */
  static async start(cache: BenchCache, settings: SessionSettings, planFolder: string): Promise<{ floor: FloorProcess; units: Record<FloorId, number> }> {
    const floor = new FloorProcess();
    const ready = new Promise<unknown>((resolve, reject) => floor.waiting.set(0, { resolve, reject }));
    const oldSettings: SessionSettings = { ...settings, arena: false };
    const script = resolve(import.meta.dir, "floor-process.ts");
    floor.child = Bun.spawn(["nice", "-n", OLD_FLOOR_NICE, process.execPath, script, JSON.stringify(cache), JSON.stringify(oldSettings), planFolder], {
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env, ...OLD_FLOOR_ENV },
      ipc: (reply: FloorReply) => {
        floor.waiting.get(reply.seq)?.resolve(reply.value);
        floor.waiting.delete(reply.seq);
      },
    });
    void floor.child.exited.then((code) => {
      for (const waiter of floor.waiting.values()) waiter.reject(new Error(`the floor process exited (${code})`));
      floor.waiting.clear();
    });
    return { floor, units: (await ready) as Record<FloorId, number> };
  }

  private ask(request: FloorQuestion): Promise<number> {
    const seq = this.seq++;
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(seq, { resolve: (value) => resolve(value as number), reject });
      this.child!.send({ ...request, seq });
    });
  }

  /** Milliseconds of one run of the plan. */
  once(id: FloorId): Promise<number> {
    return this.ask({ op: "once", id });
  }

  /** Plans per second, back to back for `seconds`. */
  rate(id: FloorId, seconds: number): Promise<number> {
    return this.ask({ op: "rate", id, seconds });
  }

  async stop(): Promise<void> {
    this.child?.kill();
    await this.child?.exited;
  }
}
