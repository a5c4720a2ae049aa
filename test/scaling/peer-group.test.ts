/** The order a task's peers are tried in: round-robin over the healthy ones, demoted ones last or never. */
import { expect, test } from "bun:test";
import { Peer, PeerGroup } from "../../src/routing/peer.ts";

const urls = (peers: Peer[]) => peers.map((peer) => peer.url);

test("each request starts one peer further; a demoted peer is skipped until promoted, or tried last when asked", () => {
  const [a, b, c] = [new Peer("a"), new Peer("b"), new Peer("c")];
  const group = new PeerGroup([a, b, c]);
  expect([urls(group.candidates(false)), urls(group.candidates(false)), urls(group.candidates(false)), urls(group.candidates(false))]).toEqual([
    ["a", "b", "c"],
    ["b", "c", "a"],
    ["c", "a", "b"],
    ["a", "b", "c"],
  ]);
  b.markDown("answered 500");
  expect(urls(group.candidates(false))).toEqual(["c", "a"]);
  expect(urls(group.candidates(true))).toEqual(["c", "a", "b"]);
  expect(b.lastError).toBe("answered 500");
  b.markUp();
  expect(urls(group.candidates(false))).toEqual(["a", "b", "c"]);
});
