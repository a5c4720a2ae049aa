/**
 * One peer ML service (immich-ml or upstream's) by base URL, shared by every task routed to it so
 * that one health state covers them all. Like the Immich server, a peer is demoted as soon as it
 * fails a request and is promoted again by the next successful /ping.
 */
export class Peer {
  healthy = true;
  lastError: string | undefined;

  constructor(readonly url: string) {}

  markDown(reason: string): void {
    this.healthy = false;
    this.lastError = reason;
  }

  markUp(): void {
    this.healthy = true;
  }
}

/** The peers of one task, taken in turn (round-robin) among the healthy ones. */
export class PeerGroup {
  #turn = 0;

  constructor(readonly peers: readonly Peer[]) {}

  /** This request's order: healthy peers from the next turn on, then (if asked) the demoted ones. */
  candidates(includeDown: boolean): Peer[] {
    const start = this.#turn++ % this.peers.length;
    const rotated = [...this.peers.slice(start), ...this.peers.slice(0, start)];
    const healthy = rotated.filter((peer) => peer.healthy);
    return includeDown ? [...healthy, ...rotated.filter((peer) => !peer.healthy)] : healthy;
  }
}
