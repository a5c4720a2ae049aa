/**
 * `bun bench/hostile-probe.ts`: what hostile or careless clients cost the service, as its own
 * process: /metrics size and RSS after 3,000 made-up model names, peak RSS (VmHWM) while 24 clients
 * post 60 MB bodies at once, the slowest /ping meanwhile (sampled every 10 ms from its own process,
 * `ping-sampler.ts`, for PING_SECONDS: this process is busy sending), and, with the
 * shared fixtures, the CPU time of one face request at minScore 0 and at the server's lowest, 0.1,
 * and peak RSS of an OCR detection request on a 50000x1000 panorama; then a connection flood: 320
 * clients trickling request headers at a process limited to 300 descriptors, with the connection
 * front on and off, and how /ping fares meanwhile.
 * Linux only (reads /proc). Run it on two trees to compare them.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fixture, haveFixtures } from "./fixtures.ts";
import { multipartBody, percentile, startServerProcess, type ServerProcess } from "./lib.ts";
import { tempDir } from "../test/support/temp.ts";

/** Long enough to cover both floods on a busy 2-core machine. */
const PING_SECONDS = 40;

const procStatus = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
/** User + system CPU seconds of a process (fields 14 and 15 of /proc/<pid>/stat). */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const post = (server: ServerProcess, parts: Parameters<typeof multipartBody>[0]) => {
  const { body, contentType } = multipartBody(parts);
  return fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": contentType } });
};

async function floods(): Promise<void> {
  const cache = tempDir();
  const server = await startServerProcess({ MACHINE_LEARNING_CACHE_FOLDER: cache, HF_HUB_OFFLINE: "1", IMMICH_LOG_LEVEL: "critical" });
  const sampler = Bun.spawn([process.execPath, join(import.meta.dir, "ping-sampler.ts"), server.url, String(PING_SECONDS)], { stdout: "pipe" });
  const floodsStarted = performance.now();
  const metricsBytes = async () => (await (await fetch(`${server.url}/metrics`)).arrayBuffer()).byteLength;

  const [metricsBefore, rssBefore] = [await metricsBytes(), procStatus(server.pid, "VmRSS")];
  for (let i = 0; i < 3000; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        post(server, { entries: JSON.stringify({ clip: { textual: { modelName: `made-up-${i + j}-${"x".repeat(40)}` } } }), text: "a" }).then((r) =>
          r.arrayBuffer(),
        ),
      ),
    );
  }
  console.log(
    `/metrics: ${metricsBefore} bytes, ${await metricsBytes()} after 3,000 made-up names; RSS ${procStatus(server.pid, "VmRSS").toFixed(0)} MiB (${rssBefore.toFixed(0)} before)`,
  );

  // 60 MB that starts like a JPEG: read in full, refused when decoded.
  const big = new Uint8Array(60 * 1024 * 1024);
  big.set([0xff, 0xd8, 0xff]);
  const peakBefore = procStatus(server.pid, "VmHWM");
  const statuses = await Promise.all(
    Array.from({ length: 24 }, () =>
      post(server, { entries: JSON.stringify({ clip: { visual: { modelName: "ViT-B-32__openai" } } }), image: big }).then(
        (r) => r.status,
        () => "error",
      ),
    ),
  );
  const histogram = Object.fromEntries(statuses.map((s) => [s, statuses.filter((t) => t === s).length]));
  console.log(
    `24 bodies of 60 MB at once: ${JSON.stringify(histogram)}; peak RSS ${procStatus(server.pid, "VmHWM").toFixed(0)} MiB (${peakBefore.toFixed(0)} before)`,
  );
  const floodSeconds = (performance.now() - floodsStarted) / 1000;
  const pings = JSON.parse(await new Response(sampler.stdout).text()) as number[];
  const covered = floodSeconds <= PING_SECONDS ? "" : ` (sampled the first ${PING_SECONDS} of ${floodSeconds.toFixed(0)} s)`;
  console.log(`slowest /ping during both: ${Math.max(...pings).toFixed(0)} ms of ${pings.length} samples${covered}`);
  await server.stop();
  rmSync(cache, { recursive: true, force: true });
}

async function facesAtMinScoreZero(): Promise<void> {
  const cache = tempDir();
  const dir = join(cache, "facial-recognition", "buffalo_m");
  for (const type of ["detection", "recognition"]) mkdirSync(join(dir, type), { recursive: true });
  copyFileSync(fixture("models", "scrfd_2.5g.onnx"), join(dir, "detection", "model.onnx"));
  copyFileSync(fixture("models", "face_embedding_512.onnx"), join(dir, "recognition", "model.onnx"));
  const server = await startServerProcess({
    MACHINE_LEARNING_CACHE_FOLDER: cache,
    HF_HUB_OFFLINE: "1",
    IMMICH_LOG_LEVEL: "critical",
    MACHINE_LEARNING_REQUEST_TIMEOUT_S: "0",
  });
  const image = readFileSync(fixture("images", "messi5.jpg"));
  // The first request loads both models; the figures are from the ones after it.
  for (const minScore of [0.1, 0.1, 0]) {
    const entries = { "facial-recognition": { detection: { modelName: "buffalo_m", options: { minScore } }, recognition: { modelName: "buffalo_m" } } };
    const cpuBefore = cpuSeconds(server.pid);
    const res = await post(server, { entries: JSON.stringify(entries), image });
    const faces = ((await res.json()) as { "facial-recognition"?: unknown[] })["facial-recognition"]?.length;
    console.log(`faces in messi5.jpg at minScore ${minScore}: ${res.status}, ${faces} faces, ${(cpuSeconds(server.pid) - cpuBefore).toFixed(1)} s CPU`);
  }
  await server.stop();
  rmSync(cache, { recursive: true, force: true });
}

async function ocrPanorama(): Promise<void> {
  const cache = tempDir();
  const dir = join(cache, "ocr", "PP-OCRv5_mobile", "detection");
  mkdirSync(dir, { recursive: true });
  copyFileSync(fixture("models", "ppocr_v3_en_det.onnx"), join(dir, "model.onnx"));
  const server = await startServerProcess({
    MACHINE_LEARNING_CACHE_FOLDER: cache,
    HF_HUB_OFFLINE: "1",
    IMMICH_LOG_LEVEL: "critical",
    MACHINE_LEARNING_REQUEST_TIMEOUT_S: "0",
  });
  const sharp: typeof import("sharp").default = require("sharp");
  const png = new Uint8Array(
    await sharp({ create: { width: 50_000, height: 1_000, channels: 3, background: "#fff" } })
      .png()
      .toBuffer(),
  );
  const peakBefore = procStatus(server.pid, "VmHWM");
  const res = await post(server, { entries: JSON.stringify({ ocr: { detection: { modelName: "PP-OCRv5_mobile" } } }), image: png });
  await res.arrayBuffer();
  console.log(
    `OCR detection on a 50000x1000 PNG (${png.byteLength} bytes): ${res.status}; peak RSS ${procStatus(server.pid, "VmHWM").toFixed(0)} MiB (${peakBefore.toFixed(0)} before)`,
  );
  await server.stop();
  rmSync(cache, { recursive: true, force: true });
}

/** Connections a flood holds against a process limited to FLOOD_DESCRIPTORS descriptors (the case). */
const FLOOD_CONNECTIONS = 320;
const FLOOD_DESCRIPTORS = 300;

async function connectionFlood(guard: boolean): Promise<void> {
  const cache = tempDir();
  // The cap is set as the default would derive it from 300 descriptors: prlimit lowers the limit after start-up.
  const server = await startServerProcess({
    MACHINE_LEARNING_CACHE_FOLDER: cache,
    HF_HUB_OFFLINE: "1",
    IMMICH_LOG_LEVEL: "critical",
    MACHINE_LEARNING_CONNECTION_GUARD: String(guard),
    MACHINE_LEARNING_MAX_CONNECTIONS: String(Math.floor((FLOOD_DESCRIPTORS - 128) / 3)),
  });
  Bun.spawnSync(["prlimit", `--pid=${server.pid}`, `--nofile=${FLOOD_DESCRIPTORS}:${FLOOD_DESCRIPTORS}`]);
  const { port } = new URL(server.url);
  const head = `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(60)}`;
  let stillOpen = 0;
  const sockets = await Promise.all(
    Array.from({ length: FLOOD_CONNECTIONS }, () =>
      Bun.connect({
        hostname: "127.0.0.1",
        port: Number(port),
        socket: { open: () => void stillOpen++, close: () => void stillOpen--, data() {}, error() {} },
      }).catch(() => undefined),
    ),
  );
  let sent = 0;
  const trickle = setInterval(() => {
    for (const socket of sockets) socket?.write(head[sent % head.length]!);
    sent++;
  }, 1000);
  const pings: number[] = [];
  let failed = 0;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    try {
      await (await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(2000), keepalive: false })).text();
      pings.push(performance.now() - started);
    } catch {
      failed++;
    }
    await Bun.sleep(250);
  }
  clearInterval(trickle);
  const slowest = pings.length > 0 ? `median ${percentile(pings, 50).toFixed(1)} ms, slowest ${Math.max(...pings).toFixed(1)} ms` : "none answered";
  console.log(
    `${FLOOD_CONNECTIONS} header-trickling connections, ${FLOOD_DESCRIPTORS} descriptors, front ${guard ? "on" : "off"}: ${stillOpen} still open after 5 s; /ping ${20 - failed}/20 answered within 2 s, ${slowest}`,
  );
  for (const socket of sockets) socket?.end();
  await server.stop();
  rmSync(cache, { recursive: true, force: true });
}

await floods();
await connectionFlood(false);
await connectionFlood(true);
if (haveFixtures) {
  await facesAtMinScoreZero();
  await ocrPanorama();
} else {
  console.log("faces at minScore 0 and the OCR panorama: skipped, ../shared/fixtures is absent");
}
