/**
 * Pings every peer's /ping on an interval, with a timeout, as the Immich server checks its ML
 * URLs: a 200 `pong` within the timeout marks the peer up, anything else down.
 */
import { log } from "../log.ts";
import type { Peer } from "./peer.ts";

export async function pingPeer(peer: Peer, timeoutS: number): Promise<boolean> {
  try {
    const response = await fetch(`${peer.url}/ping`, { signal: AbortSignal.timeout(timeoutS * 1000) });
    const body = await response.text();
    if (response.ok && body === "pong") return true;
    peer.markDown(`/ping answered ${response.status}`);
  } catch (error) {
    peer.markDown(`/ping failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return false;
}

export class HealthChecker {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;

  constructor(
    private readonly peers: readonly Peer[],
    private readonly options: { intervalS: number; timeoutS: number; onCheck?: (peer: Peer) => void },
  ) {}

  start(): void {
    void this.checkAll();
    this.#timer = setInterval(() => void this.checkAll(), this.options.intervalS * 1000);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One round; a round still running (peers timing out) is not overlapped by the next. */
  async checkAll(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await Promise.all(
        this.peers.map(async (peer) => {
          const wasHealthy = peer.healthy;
          if (await pingPeer(peer, this.options.timeoutS)) peer.markUp();
          if (wasHealthy !== peer.healthy) log.info(`peer ${peer.url} is ${peer.healthy ? "up" : `down (${peer.lastError})`}`);
          this.options.onCheck?.(peer);
        }),
      );
    } finally {
      this.#running = false;
    }
  }
}

/** Why a peer request was given up before its deadline. */
export class PeerUnreachableError extends Error {
  constructor(timeoutS: number) {
    super(`stopped answering /ping within ${timeoutS} s`);
    this.name = "PeerUnreachableError";
  }
}

/**
 * Watches a peer while one request to it runs: every `timeoutS` it pings the peer and aborts the
 * signal at the first failed /ping. fetch has no separate connect timeout, so this is what stops a
 * powered-off, unreachable or wedged peer from holding a request for the whole peer timeout (it
 * costs about two ping timeouts); a live peer that is merely slow keeps the full deadline.
 */
export function watchPeer(peer: Peer, timeoutS: number): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    timer = setTimeout(() => void check(), timeoutS * 1000);
    timer.unref?.();
  };
  const check = async () => {
    const alive = await pingPeer(peer, timeoutS);
    if (stopped) return;
    if (alive) schedule();
    else controller.abort(new PeerUnreachableError(timeoutS));
  };
  schedule();
  return {
    signal: controller.signal,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
