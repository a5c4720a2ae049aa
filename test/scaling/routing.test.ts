/**
 * Task routing with real peer processes on loopback: merged answers byte-identical to a single
 * instance's, round-robin, failover past a hanging and a failing peer, local fallback, health
 * checks, per-peer metrics, and the routing overhead per request against a direct call.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Unpackr } from "msgpackr";
import { topLevelFields } from "../../src/routing/response-fields.ts";
import { predict, startTestServer, type TestServer } from "../support/test-server.ts";
import type { ServeProcess } from "../support/server-process.ts";
import { answeredCount, CLIP, clipCache, closedPortUrl, startFakePeer, startPeers, startSilentPeer, TEXT_ENTRIES } from "./peers.ts";
import { waitUntil } from "../support/wait-until.ts";

const sharp: typeof import("sharp").default = require("sharp");
const IMAGE_ENTRIES = { clip: { visual: { modelName: CLIP } } };
const OCR = { detection: { modelName: "tesseract" }, recognition: { modelName: "tesseract" } };

let peers: ServeProcess[];
let jpeg: Uint8Array;
const cleanups: Array<() => unknown> = [];

/** A front instance routing CLIP as `env` says, with the same stand-in CLIP for its local fallback. */
async function startFront(env: Record<string, string>): Promise<TestServer> {
  const front = await startTestServer({ MACHINE_LEARNING_CACHE_FOLDER: clipCache(), MACHINE_LEARNING_PEER_PING_INTERVAL_S: "60", ...env });
  cleanups.push(() => front.stop());
  return front;
}

async function bytes(response: Response): Promise<{ status: number; text: string }> {
  return { status: response.status, text: await response.text() };
}

async function metricsOf(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

beforeAll(async () => {
  peers = await startPeers(2);
  jpeg = new Uint8Array(
    await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 60, b: 30 } } })
      .jpeg()
      .toBuffer(),
  );
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all(peers.map((peer) => peer.stop()));
});

describe("merged answers", () => {
  let front: TestServer;
  beforeAll(async () => {
    front = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: peers[0]!.url });
  });

  test("a routed text and a routed image request answer the same bytes as the peer itself", async () => {
    for (const [entries, part] of [
      [TEXT_ENTRIES, { text: "a photo of a cat" }],
      [IMAGE_ENTRIES, { image: jpeg }],
    ] as const) {
      const routed = await bytes(await predict(front.url, entries, part));
      const direct = await bytes(await predict(peers[0]!.url, entries, part));
      expect(routed.status).toBe(200);
      expect(routed.text).toBe(direct.text);
    }
    expect(await answeredCount(peers[0]!.url, "visual")).toBeGreaterThanOrEqual(2);
    // The front never ran CLIP itself.
    expect(front.service.cache.loaded()).toEqual([]);
  });

  test("CLIP on the peer and OCR here merge into one upstream-shaped answer, each field as a single instance prints it", async () => {
    const entries = { clip: IMAGE_ENTRIES.clip, ocr: OCR };
    const routed = await bytes(await predict(front.url, entries, { image: jpeg }));
    const single = await bytes(await predict(peers[1]!.url, entries, { image: jpeg }));
    expect(routed.status).toBe(200);
    const routedFields = topLevelFields(routed.text);
    expect([...routedFields.keys()]).toEqual(["clip", "ocr", "imageHeight", "imageWidth"]);
    expect(Object.fromEntries(routedFields)).toEqual(Object.fromEntries(topLevelFields(single.text)));
    expect(
      front.service.cache
        .loaded()
        .map((model) => `${model.task}/${model.type}/${model.name}`)
        .sort(),
    ).toEqual(["ocr/detection/tesseract", "ocr/recognition/tesseract"]);
  });

  test("the peer receives only its task's entries and the image bytes exactly as sent; its printed fields are kept verbatim", async () => {
    const answer = '{"clip":"[0.5,-1.0e-7]","imageHeight":480.0,"imageWidth":640}';
    const recording = startFakePeer({ json: answer });
    cleanups.push(() => recording.stop());
    const routedFront = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: recording.url });
    const response = await predict(routedFront.url, { clip: IMAGE_ENTRIES.clip, ocr: OCR }, { image: jpeg });
    expect(response.status).toBe(200);
    const form = recording.lastForm!;
    expect(JSON.parse(form.entries)).toEqual({ clip: { visual: { modelName: CLIP, options: {} } } });
    expect(Buffer.from(form.image).equals(Buffer.from(jpeg))).toBe(true);
    const fields = topLevelFields(await response.text());
    expect(fields.get("clip")).toBe('"[0.5,-1.0e-7]"');
    // imageHeight/imageWidth come from the local share (the OCR ran here), as a single instance prints them.
    expect([fields.get("imageHeight"), fields.get("imageWidth")]).toEqual(["480", "640"]);
  });

  test("MessagePack answers merge to the same values as a single instance's", async () => {
    const unpackr = new Unpackr({ useRecords: false });
    const headers = { accept: "application/msgpack" };
    const routed = await predict(front.url, TEXT_ENTRIES, { text: "a dog" }, headers);
    const direct = await predict(peers[0]!.url, TEXT_ENTRIES, { text: "a dog" }, headers);
    expect(routed.headers.get("content-type")).toBe("application/msgpack");
    expect(unpackr.unpack(new Uint8Array(await routed.arrayBuffer()))).toEqual(unpackr.unpack(new Uint8Array(await direct.arrayBuffer())));
  });

  test("a peer's 4xx is the request's fault: same status and body as the peer, and the peer stays up", async () => {
    const entries = { clip: { textual: { modelName: "no-such-model" } } };
    const routed = await bytes(await predict(front.url, entries, { text: "x" }));
    const direct = await bytes(await predict(peers[0]!.url, entries, { text: "x" }));
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect(direct.status).toBeLessThan(500);
    expect(routed).toEqual(direct);
    expect(await metricsOf(front.url)).toContain(`immich_ml_peer_healthy{peer="${peers[0]!.url}"} 1`);
  });
});

describe("spreading and failing over", () => {
  test("round-robin: 20 requests split 10/10 across two healthy peers", async () => {
    const front = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: peers.map((peer) => peer.url).join(",") });
    const before = await Promise.all(peers.map((peer) => answeredCount(peer.url)));
    for (let i = 0; i < 20; i++) expect((await predict(front.url, TEXT_ENTRIES, { text: `query ${i}` })).status).toBe(200);
    const after = await Promise.all(peers.map((peer) => answeredCount(peer.url)));
    expect(after.map((count, i) => count - before[i]!)).toEqual([10, 10]);
    const metrics = await metricsOf(front.url);
    for (const peer of peers) {
      expect(metrics).toContain(`immich_ml_peer_requests_total{peer="${peer.url}",task="clip",outcome="ok"} 10`);
      expect(metrics).toContain(`immich_ml_peer_request_duration_seconds_count{peer="${peer.url}",task="clip"} 10`);
    }
  });

  test("a hanging peer costs one peer timeout, a 500 peer one round trip; both are demoted and later requests go straight to the good peer", async () => {
    const hanging = startFakePeer("hang");
    const failing = startFakePeer(500);
    cleanups.push(
      () => hanging.stop(),
      () => failing.stop(),
    );
    const front = await startFront({
      MACHINE_LEARNING_ROUTE__CLIP: [hanging.url, failing.url, peers[0]!.url].join(","),
      MACHINE_LEARNING_PEER_TIMEOUT_S: "0.5",
    });
    const expected = await bytes(await predict(peers[0]!.url, TEXT_ENTRIES, { text: "failover" }));
    const started = performance.now();
    const first = await bytes(await predict(front.url, TEXT_ENTRIES, { text: "failover" }));
    const firstMs = performance.now() - started;
    expect(first).toEqual(expected);
    expect(firstMs).toBeGreaterThanOrEqual(450);
    expect([hanging.predictCalls, failing.predictCalls]).toEqual([1, 1]);

    for (let i = 0; i < 4; i++) expect((await predict(front.url, TEXT_ENTRIES, { text: "again" })).status).toBe(200);
    expect([hanging.predictCalls, failing.predictCalls]).toEqual([1, 1]);

    const metrics = await metricsOf(front.url);
    for (const bad of [hanging, failing]) {
      expect(metrics).toContain(`immich_ml_peer_requests_total{peer="${bad.url}",task="clip",outcome="error"} 1`);
      expect(metrics).toContain(`immich_ml_peer_healthy{peer="${bad.url}"} 0`);
    }
    const health = (await (await fetch(`${front.url}/health`)).json()) as { peers: Array<{ url: string; healthy: boolean; lastError: string | null }> };
    expect(health.peers).toEqual([
      { url: hanging.url, healthy: false, lastError: "no answer within 0.5 s" },
      { url: failing.url, healthy: false, lastError: "answered 500" },
      { url: peers[0]!.url, healthy: true, lastError: null },
    ]);
  });

  test("a peer that stops answering at all (not even /ping) is given up after two ping timeouts, not the whole peer timeout", async () => {
    const silent = startSilentPeer();
    cleanups.push(() => silent.stop());
    const front = await startFront({
      MACHINE_LEARNING_ROUTE__CLIP: [silent.url, peers[0]!.url].join(","),
      MACHINE_LEARNING_PEER_TIMEOUT_S: "30",
      MACHINE_LEARNING_PEER_PING_TIMEOUT_S: "0.2",
    });
    const expected = await bytes(await predict(peers[0]!.url, TEXT_ENTRIES, { text: "silence" }));
    const started = performance.now();
    expect(await bytes(await predict(front.url, TEXT_ENTRIES, { text: "silence" }))).toEqual(expected);
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(350);
    expect(elapsedMs).toBeLessThan(5000);
    const health = (await (await fetch(`${front.url}/health`)).json()) as { peers: Array<{ url: string; healthy: boolean; lastError: string | null }> };
    expect(health.peers[0]).toEqual({ url: silent.url, healthy: false, lastError: "stopped answering /ping within 0.2 s" });
  });

  test("a slow peer that still answers /ping keeps its full peer timeout", async () => {
    let release: () => void = () => {};
    let pingsWhileHeld = 0;
    let holding = false;
    const slow = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        if (new URL(request.url).pathname === "/ping") {
          if (holding) pingsWhileHeld++;
          return new Response("pong");
        }
        holding = true;
        await new Promise<void>((resolve) => (release = resolve));
        const headers = { "content-type": request.headers.get("content-type")! };
        return fetch(`${peers[0]!.url}/predict`, { method: "POST", body: await request.arrayBuffer(), headers });
      },
    });
    cleanups.push(() => slow.stop(true));
    const front = await startFront({
      MACHINE_LEARNING_ROUTE__CLIP: `http://127.0.0.1:${slow.port}`,
      MACHINE_LEARNING_PEER_PING_TIMEOUT_S: "0.1",
      MACHINE_LEARNING_ROUTE_FALLBACK: "none",
    });
    const answer = predict(front.url, TEXT_ENTRIES, { text: "slow" });
    // Held past three ping timeouts, answering each /ping the watch sends meanwhile.
    await waitUntil(() => pingsWhileHeld >= 3, "three pings while the request is held", 2_000);
    release();
    expect((await answer).status).toBe(200);
    expect(await metricsOf(front.url)).toContain(`immich_ml_peer_requests_total{peer="http://127.0.0.1:${slow.port}",task="clip",outcome="ok"} 1`);
  });

  test("no peer answering: local inference by default (same bytes), 502 with ROUTE_FALLBACK=none", async () => {
    const dead = closedPortUrl();
    const withFallback = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: dead });
    const expected = await bytes(await predict(peers[0]!.url, TEXT_ENTRIES, { text: "fallback" }));
    expect(await bytes(await predict(withFallback.url, TEXT_ENTRIES, { text: "fallback" }))).toEqual(expected);
    expect(await metricsOf(withFallback.url)).toContain('immich_ml_peer_fallbacks_total{task="clip"} 1');

    const strict = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: dead, MACHINE_LEARNING_ROUTE_FALLBACK: "none" });
    const refused = await predict(strict.url, TEXT_ENTRIES, { text: "fallback" });
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { detail: string }).detail).toStartWith(`No peer served task clip: ${dead} failed:`);
    expect(strict.service.cache.loaded()).toEqual([]);
  });

  test("/ping health checks demote a peer that stops answering pong and promote it when it is back", async () => {
    let up = true;
    const flapping = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (up ? new Response("pong") : new Response("busy", { status: 503 })) });
    cleanups.push(() => flapping.stop(true));
    const url = `http://127.0.0.1:${flapping.port}`;
    const front = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: url, MACHINE_LEARNING_PEER_PING_INTERVAL_S: "0.05" });
    const healthy = async () => ((await (await fetch(`${front.url}/health`)).json()) as { peers: Array<{ healthy: boolean }> }).peers[0]!.healthy;
    const waitFor = (state: boolean) => waitUntil(async () => (await healthy()) === state, `the peer to be healthy=${state}`, 2_000);
    await waitFor(true);
    up = false;
    await waitFor(false);
    expect(await metricsOf(front.url)).toContain(`immich_ml_peer_healthy{peer="${url}"} 0`);
    up = true;
    await waitFor(true);
  });
});

describe("routing overhead", () => {
  test("per request, against a direct call to the same peer (interleaved, same run): a search query and a 640x480 JPEG", async () => {
    const front = await startFront({ MACHINE_LEARNING_ROUTE__CLIP: peers[0]!.url });
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    for (const [label, entries, part] of [
      ["text", TEXT_ENTRIES, { text: "a photo of a dog" }],
      ["image", IMAGE_ENTRIES, { image: jpeg }],
    ] as const) {
      const direct: number[] = [];
      const routed: number[] = [];
      const time = async (url: string, into: number[]) => {
        const started = performance.now();
        await (await predict(url, entries, part)).arrayBuffer();
        into.push(performance.now() - started);
      };
      for (let i = 0; i < 5; i++) await time(front.url, []); // warm both paths
      for (let i = 0; i < 40; i++) {
        await time(peers[0]!.url, direct);
        await time(front.url, routed);
      }
      const overheadMs = median(routed) - median(direct);
      console.log(
        `routing overhead (${label}): direct median ${median(direct).toFixed(2)} ms, routed ${median(routed).toFixed(2)} ms, +${overheadMs.toFixed(2)} ms, ratio ${(median(routed) / median(direct)).toFixed(2)}`,
      );
      // Loose bound (a shared, noisy machine): one extra loopback hop, not another inference.
      expect(overheadMs).toBeLessThan(25);
    }
  });
});
