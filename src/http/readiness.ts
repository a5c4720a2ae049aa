/**
 * Readiness, as load balancers and Kubernetes use it: `/ping` says the process is alive, `/ready`
 * whether it should be sent work. Not ready while preloaded models load (the first requests would
 * wait for them) and from SIGTERM on (draining: the balancer stops sending before the listener closes).
 */
export type ReadinessState = "loading" | "ready" | "draining";

const REASONS: Record<ReadinessState, string> = {
  loading: "loading preloaded models",
  ready: "serving",
  draining: "shutting down: finishing in-flight requests",
};

export class Readiness {
  #state: ReadinessState = "loading";

  get state(): ReadinessState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === "ready";
  }

  /** Preloading is over; a process already draining stays draining. */
  markReady(): void {
    if (this.#state === "loading") this.#state = "ready";
  }

  drain(): void {
    this.#state = "draining";
  }

  report(): { ready: boolean; state: ReadinessState; reason: string } {
    return { ready: this.ready, state: this.#state, reason: REASONS[this.#state] };
  }
}
