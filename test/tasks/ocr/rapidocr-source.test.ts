/**
 * PP-OCR downloads from RapidOCR's registry, run against a local mirror: which file each registered
 * name fetches, the checksum check (a wrong file is refused and nothing is left on disk), a dropped
 * connection, and a mirror that lacks the file.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { registeredModels } from "../../../src/models/registry.ts";
import { RAPIDOCR_CATALOGUE, rapidOcrSource, remoteOcrModel, type OcrCatalogue } from "../../../src/tasks/ocr/rapidocr-source.ts";
import { startSilentServer } from "../../support/silent-server.ts";
import { tempDir } from "../../support/temp.ts";
import { loadSettings } from "../../../src/config/settings.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const detectionBytes = new Uint8Array(3000).fill(1);
const recognitionBytes = new Uint8Array(5000).fill(2);

/** A catalogue shaped like RapidOCR's whose digests are those of the bytes this mirror serves. */
const localCatalogue: OcrCatalogue = {
  detectors: {
    mobile: { path: "det/mobile.onnx", sha256: sha256(detectionBytes) },
    server: { path: "det/server.onnx", sha256: sha256(detectionBytes) },
  },
  recognizers: { EL: { mobile: { path: "rec/el_mobile.onnx", sha256: sha256(recognitionBytes) } } },
};

interface Mirror {
  url: string;
  requested: string[];
  stop(): void;
}

function startMirror(files: Record<string, Uint8Array | "drop">): Mirror {
  const requested: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname.slice(1);
      requested.push(path);
      const file = files[path];
      if (file === undefined) return new Response("not found", { status: 404 });
      if (file === "drop") {
        // Announces more than it sends, then ends the stream with an error: a dropped connection.
        const body = new ReadableStream({
          start(controller) {
            controller.enqueue(new Uint8Array(1000));
            setTimeout(() => controller.error(new Error("connection reset")), 50);
          },
        });
        return new Response(body, { headers: { "content-length": "100000" } });
      }
      return new Response(file);
    },
  });
  return { url: `http://127.0.0.1:${server.port}/`, requested, stop: () => server.stop(true) };
}

const network = loadSettings({}).network;
const identity = (type: "detection" | "recognition") => ({ task: "ocr" as const, type });
let mirror: Mirror | undefined;
afterEach(() => mirror?.stop());

describe("RapidOCR model registry", () => {
  test("every registered PP-OCR name has a detector and a recogniser with a published SHA-256", () => {
    const names = registeredModels()
      .filter((model) => model.family === "paddle")
      .map((model) => model.name);
    expect(names).toHaveLength(10);
    for (const name of names) {
      for (const type of ["detection", "recognition"] as const) {
        const model = remoteOcrModel(name, type);
        expect(model.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(model.path).toStartWith(type === "detection" ? "onnx/PP-OCRv5/det/" : "onnx/PP-OCRv5/rec/");
      }
    }
  });

  test("detection is shared by language packs; the variant picks mobile or server", () => {
    expect(remoteOcrModel("TH__PP-OCRv5_mobile", "detection")).toBe(RAPIDOCR_CATALOGUE.detectors.mobile);
    expect(remoteOcrModel("PP-OCRv5_server", "detection")).toBe(RAPIDOCR_CATALOGUE.detectors.server);
    expect(remoteOcrModel("PP-OCRv5_mobile", "recognition").path).toBe("onnx/PP-OCRv5/rec/ch_PP-OCRv5_rec_mobile_infer.onnx");
    expect(remoteOcrModel("CH__PP-OCRv5_server", "recognition").path).toBe("onnx/PP-OCRv5/rec/ch_PP-OCRv5_rec_server_infer.onnx");
    expect(remoteOcrModel("KOREAN__PP-OCRv5_mobile", "recognition").path).toBe("onnx/PP-OCRv5/rec/korean_PP-OCRv5_rec_mobile_infer.onnx");
    const recognizers = Object.values(RAPIDOCR_CATALOGUE.recognizers).flatMap((variants) => Object.values(variants));
    expect(new Set(recognizers.map((model) => model.sha256)).size).toBe(recognizers.length);
  });

  test("a language without a server recogniser is refused before any download", () => {
    expect(() => remoteOcrModel("EN__PP-OCRv5_server", "recognition")).toThrow("no server recognition model is published for language EN");
  });
});

describe("downloading from a RapidOCR mirror", () => {
  test("without MACHINE_LEARNING_OCR_MODEL_URL, models come from RapidOCR's own ModelScope tree", () => {
    const unset = loadSettings({}).ocrModelUrl;
    expect(unset).toBeUndefined();
    expect(rapidOcrSource(unset, "PP-OCRv5_mobile", network).label).toBe(
      "https://www.modelscope.cn/models/RapidAI/RapidOCR/resolve/v3.4.0 (RapidOCR models for PP-OCRv5_mobile)",
    );
  });

  test("fetches both parts into upstream's layout, from the paths the registry names", async () => {
    mirror = startMirror({ "det/mobile.onnx": detectionBytes, "rec/el_mobile.onnx": recognitionBytes });
    const dir = tempDir();
    const source = rapidOcrSource(mirror.url, "EL__PP-OCRv5_mobile", network, localCatalogue);
    await source.fetch(dir, identity("detection"));
    await source.fetch(dir, identity("recognition"));
    expect(readFileSync(join(dir, "detection/model.onnx"))).toEqual(Buffer.from(detectionBytes));
    expect(readFileSync(join(dir, "recognition/model.onnx"))).toEqual(Buffer.from(recognitionBytes));
    expect(mirror.requested).toEqual(["det/mobile.onnx", "rec/el_mobile.onnx"]);
  });

  test("a file whose SHA-256 differs from the registry's is refused and not kept", async () => {
    const tampered = new Uint8Array(recognitionBytes).fill(9, 0, 10);
    mirror = startMirror({ "rec/el_mobile.onnx": tampered });
    const dir = tempDir();
    const fetching = rapidOcrSource(mirror.url, "EL__PP-OCRv5_mobile", network, localCatalogue).fetch(dir, identity("recognition"));
    await expect(fetching).rejects.toThrow(`has SHA-256 ${sha256(tampered)}, expected ${sha256(recognitionBytes)}`);
    expect(readdirSync(join(dir, "recognition"))).toEqual([]);
  });

  test("a dropped connection leaves no partial file", async () => {
    mirror = startMirror({ "det/server.onnx": "drop" });
    const dir = tempDir();
    await expect(rapidOcrSource(mirror.url, "PP-OCRv5_server", network, localCatalogue).fetch(dir, identity("detection"))).rejects.toThrow();
    // The folder exists only if the body started arriving, which is the case this test is about.
    expect(readdirSync(join(dir, "detection"))).toEqual([]);
  });

  test("a mirror that never answers fails at the connect timeout, naming host and timeout", async () => {
    const silent = startSilentServer();
    try {
      const quick = { connectTimeoutS: 0.2, readTimeoutS: 0.2, retries: 0 };
      const fetching = rapidOcrSource(silent.url, "PP-OCRv5_mobile", quick, localCatalogue).fetch(tempDir(), identity("detection"));
      await expect(fetching).rejects.toThrow(`127.0.0.1:${silent.port} did not answer within 0.2 s (MACHINE_LEARNING_DOWNLOAD_CONNECT_TIMEOUT_S)`);
      expect(silent.connections()).toBe(1);
    } finally {
      silent.stop();
    }
  });

  test("a mirror without the file answers with the URL and status", async () => {
    mirror = startMirror({});
    const dir = tempDir();
    const fetching = rapidOcrSource(mirror.url, "PP-OCRv5_mobile", network, localCatalogue).fetch(dir, identity("detection"));
    await expect(fetching).rejects.toThrow(`${mirror.url}det/mobile.onnx answered 404`);
    expect(existsSync(join(dir, "detection"))).toBe(false);
  });
});
