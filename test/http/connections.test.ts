/**
 * Connection hygiene: idle keep-alive connections close after HTTP_KEEPALIVE_TIMEOUT_S (upstream's
 * variable), a body trickled in cannot hold a connection past MACHINE_LEARNING_BODY_TIMEOUT_S,
 * bodies beyond the in-flight byte budget are refused before they are read, and a prediction
 * slower than the keep-alive timeout is still answered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { handBuiltMultipart, predict, startTestServer, type TestServer } from "../support/test-server.ts";
import { writeClipModel } from "../support/clip-cache.ts";
import { slowVisualModel } from "../support/slow-model.ts";
import { waitUntil } from "../support/wait-until.ts";
import { fetchStageCount, stageCount } from "../support/stage-count.ts";

const sharp: typeof import("sharp").default = require("sharp");
const MODEL = "ViT-B-32__openai";

/** Opens a raw connection, writes `head`, and resolves with the ms until the server closes it (or `giveUpMs`). */
function timeUntilClosed(url: string, head: string, giveUpMs: number, trickle?: (socket: Socket) => void): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(port), "127.0.0.1", () => {
      socket.write(head);
      trickle?.(socket);
    });
    const done = () => {
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    };
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", done);
  });
}

describe("connection timers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S: "1", MACHINE_LEARNING_BODY_TIMEOUT_S: "2" });
  });
  afterAll(() => server.stop());

  test("an idle keep-alive connection is closed after HTTP_KEEPALIVE_TIMEOUT_S (Bun's default would hold it 10 s)", async () => {
    const ms = await timeUntilClosed(server.url, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", 9_000);
    // Bun's timer ticks in whole seconds: closed within about two of them.
    expect(ms).toBeLessThan(5_000);
  }, 15_000);

  test("a kept-alive connection used again before HTTP_KEEPALIVE_TIMEOUT_S is never closed under its next request", async () => {
    // Ten requests on one connection, each after 0.5 s of idleness (keep-alive: 1 s), spanning
    // more than one of Bun's 4 s idle-timer ticks: a timer firing at a tick, not after 1 s of
    // idleness, closes the connection between two of them. The client shares the server's event
    // loop, so the gap leaves half a second for a pause of that loop (a collection of the test
    // run's heap), in which both timers would fall due together.
    const REQUESTS = 10;
    const { port } = new URL(server.url);
    const answers = await new Promise<number>((resolve) => {
      let pongs = 0;
      let sent = 0;
      const socket = connect(Number(port), "127.0.0.1", () => {
        const send = () => {
          if (sent === REQUESTS) return void socket.end();
          sent++;
          socket.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
        };
        socket.on("data", (chunk) => {
          pongs += chunk.toString("latin1").split("pong").length - 1;
          setTimeout(send, 500);
        });
        send();
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(pongs));
    });
    expect(answers).toBe(REQUESTS);
  }, 15_000);

  test("a body sent one byte at a time is cut off at MACHINE_LEARNING_BODY_TIMEOUT_S, though bytes keep coming", async () => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const ms = await timeUntilClosed(
      server.url,
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n",
      12_000,
      (socket) => {
        timer = setInterval(() => socket.write("a"), 200);
      },
    );
    clearInterval(timer);
    expect(ms).toBeLessThan(8_000);
    expect(await (await fetch(`${server.url}/ping`)).text()).toBe("pong");
  }, 15_000);
});

describe("request bytes in flight", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      MACHINE_LEARNING_MAX_BODY_BYTES: String(1024 * 1024),
      MACHINE_LEARNING_MAX_BODY_BYTES_IN_FLIGHT: String(2 * 1024 * 1024),
    });
  });
  afterAll(() => server.stop());

  test("bodies beyond the budget are refused with 503 before they are read; the budget comes back after", async () => {
    // Three connections each declare 1 MB and send nothing more: two fit, the third is refused at once.
    const { port } = new URL(server.url);
    const head = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1048576\r\n\r\n";
    const open = (): Promise<{ socket: Socket; firstLine: Promise<string> }> =>
      new Promise((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => {
          socket.write(head);
          const firstLine = new Promise<string>((answer) => socket.once("data", (data) => answer(String(data).split("\r\n")[0]!)));
          socket.on("error", () => {});
          resolve({ socket, firstLine });
        });
      });
    const holders = [await open(), await open()];
    // For both to be admitted: their reservations are made on arrival, which nothing outside shows.
    await Bun.sleep(200);
    const third = await open();
    expect(await third.firstLine).toBe("HTTP/1.1 503 Service Unavailable");
    for (const holder of [...holders, third]) holder.socket.destroy();
    // Disconnected clients give their reservation back: a normal request fits again.
    const { body, contentType } = handBuiltMultipart(JSON.stringify({ clip: { textual: { modelName: "nope" } } }), { text: "a" });
    await waitUntil(
      async () => (await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } })).status === 400,
      "a normal request to fit again (400 for its unknown model)",
    );
  });
});

/**
 * Sizing a slow model and preloading it (seconds of onnxruntime work by design) took 2 to 12 s on a
 * busy 2-core machine, past the 5 s a hook gets by default.
 */
const SLOW_SETUP_MS = 60_000;

describe("a prediction slower than the keep-alive timeout", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Sized on this machine: 14 runs in a row must outlast Bun's timer however fast the machine is.
    const slow = await slowVisualModel(500);
    server = await startTestServer(
      {
        MACHINE_LEARNING_HTTP_KEEPALIVE_TIMEOUT_S: "1",
        MACHINE_LEARNING_BODY_TIMEOUT_S: "1",
        MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "1",
        MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL,
      },
      (cache) => writeFileSync(join(writeClipModel(cache, MODEL), "visual", "model.onnx"), slow.model),
    );
  }, SLOW_SETUP_MS);
  afterAll(() => server.stop());

  test("is answered: the connection timers stop once the body is read", async () => {
    const jpeg = new Uint8Array(
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#345" } })
        .jpeg()
        .toBuffer(),
    );
    const started = performance.now();
    // One runs at a time: the last waits for the others, longer than Bun's timer (1 s, checked every 4 s) allows.
    const statuses = await Promise.all(
      Array.from({ length: 14 }, () => predict(server.url, { clip: { visual: { modelName: MODEL } } }, { image: jpeg }).then((r) => r.status, String)),
    );
    expect(performance.now() - started).toBeGreaterThan(5_000);
    expect(statuses).toEqual(Array(14).fill(200));
  }, 60_000);
});

describe("a client that hangs up", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Sized on this machine: the first run must still be running when the others hang up (300 ms).
    const slow = await slowVisualModel(1500);
    // One inference thread: the other runs wait behind the first (with more, as many run at once).
    server = await startTestServer(
      { MACHINE_LEARNING_MAX_CONCURRENT_REQUESTS: "4", MACHINE_LEARNING_PRELOAD__CLIP__VISUAL: MODEL, MACHINE_LEARNING_INFERENCE_THREADS: "1" },
      (cache) => writeFileSync(join(writeClipModel(cache, MODEL), "visual", "model.onnx"), slow.model),
    );
  }, SLOW_SETUP_MS);
  afterAll(() => server.stop());

  const VISUAL_RUNS = `session:${MODEL}/visual`;
  /** The visual session's runs and skipped runs, from one reading of /metrics. */
  const visualCounts = async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    return [stageCount(metrics, VISUAL_RUNS, "run"), stageCount(metrics, VISUAL_RUNS, "abandoned")];
  };

  test("has its model runs still waiting on the inference thread skipped, as a timed-out request does", async () => {
    const jpeg = new Uint8Array(
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#345" } })
        .jpeg()
        .toBuffer(),
    );
    const image = { clip: { visual: { modelName: MODEL } } };
    const kept = predict(server.url, image, { image: jpeg });
    // Three more whose clients hang up while their runs wait behind the one running.
    const clients = Array.from({ length: 3 }, () => new AbortController());
    const dropped = clients.map((client) => predict(server.url, image, { image: jpeg }, {}, client.signal).catch(() => "aborted"));
    // A request's run goes to the inference thread as soon as its input is ready, so once all
    // four inputs are the three runs wait there (the thread's queue itself is not visible).
    await waitUntil(async () => (await fetchStageCount(server.url, "kernel:clip.visualInput", "run")) === 4, "the four inputs to be ready", 20_000);
    expect((await visualCounts())[0]).toBe(0); // one run still under way: the others wait behind it
    for (const client of clients) client.abort();
    expect(await Promise.all(dropped)).toEqual(["aborted", "aborted", "aborted"]);
    expect((await kept).status).toBe(200);
    // The four inputs reach the thread in whatever order their pre-processing ends, so the run
    // under way at the hang-up may be one of the three: it cannot be stopped, and the kept request
    // runs after it. Every run not yet started when its client hung up is skipped either way.
    await waitUntil(async () => (await visualCounts()).reduce((a, b) => a + b) === 4, "every run to end or be skipped");
    expect([
      [1, 3],
      [2, 2],
    ]).toContainEqual(await visualCounts());
  }, 30_000);
});
