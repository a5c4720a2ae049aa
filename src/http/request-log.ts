/**
 * One debug line per answered request (`IMMICH_LOG_LEVEL=debug` or `verbose`): method, path,
 * status, milliseconds and, for /predict, the task/type/model of each entry. Key=value fields so
 * that log tooling can split them. Nothing is measured or kept when debug is off.
 */
import { log } from "../log.ts";
import type { PipelineEntry } from "../pipeline/entries.ts";
import { excerpt } from "../client-text.ts";

interface Pending {
  started: number;
  tasks?: string;
}

export class RequestLog {
  // Keyed by the request object itself, so the entry goes away with the request.
  private readonly pending = new WeakMap<Request, Pending>();

  start(request: Request): void {
    if (log.isEnabled("debug")) this.pending.set(request, { started: performance.now() });
  }

  /** Notes what a /predict asked for, once its entries are parsed. */
  tasks(request: Request, entries: readonly PipelineEntry[]): void {
    const pending = this.pending.get(request);
    if (pending) pending.tasks = entries.map((e) => `${e.task}/${e.type}/${excerpt(e.modelName)}`).join(",");
  }

  finish(request: Request, status: number): void {
    const pending = this.pending.get(request);
    if (!pending) return;
    this.pending.delete(request);
    const ms = (performance.now() - pending.started).toFixed(1);
    // Quoted and escaped: model names come from the client and may hold spaces or line breaks.
    const tasks = pending.tasks === undefined ? "" : ` tasks=${JSON.stringify(pending.tasks)}`;
    log.debug(`request method=${request.method} path=${new URL(request.url).pathname} status=${status} ms=${ms}${tasks}`);
  }
}
