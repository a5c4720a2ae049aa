/**
 * Generates hostile /predict requests, each with the statuses that would be a correct answer.
 * Case `i` of seed `s` is always the same request, so any failure can be replayed on its own.
 *
 * Only the served model (cached in the test's folder) and names no registry holds are used:
 * a registered but uncached model rightly answers 503 when the Hub is unreachable, and that is
 * covered by the model-lifecycle tests rather than counted here as a server fault.
 */
import { Prng } from "./prng.ts";
import type { SeedImage } from "./image-corpus.ts";
import { concat, imagePart, multipart, type Part } from "./multipart.ts";

export interface FuzzTarget {
  /** The CLIP model present in the server's cache. */
  modelName: string;
  /** The server's MACHINE_LEARNING_MAX_BODY_BYTES. */
  maxBodyBytes: number;
}

export interface FuzzCase {
  index: number;
  family: string;
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /** Every status that is a correct answer. */
  expect: readonly number[];
  /** The server may close the connection instead of answering (a body over the limit). */
  mayDrop?: boolean;
  /** The size a 200 must report (the image was valid). */
  imageSize?: [number, number];
}

type Draft = Omit<FuzzCase, "index" | "family">;
type Family = (rng: Prng, ctx: Context) => Draft;

interface Context {
  target: FuzzTarget;
  corpus: readonly SeedImage[];
}

const encoder = new TextEncoder();
const QUERY = "a photo of a cat";

const visual = (modelName: unknown, options?: unknown) => ({ clip: { visual: options === undefined ? { modelName } : { modelName, options } } });
const textual = (modelName: unknown, options?: unknown) => ({ clip: { textual: options === undefined ? { modelName } : { modelName, options } } });

/** Spellings upstream's `clean_name` maps onto the served model (prefix, `::`, dots). */
function servedName(rng: Prng, name: string): string {
  switch (rng.int(0, 4)) {
    case 0:
      return `immich-app/${name}`;
    case 1:
      return name.replaceAll("__", "::");
    case 2: {
      const at = rng.int(0, name.length);
      return `${name.slice(0, at)}.${name.slice(at)}`;
    }
    default:
      return name;
  }
}

/** A name no registry holds (or one registered for another task, which CLIP cannot serve). */
function unknownName(rng: Prng): string {
  return rng.pick([
    () => `no-such-model-${rng.text(20)}`,
    () => "",
    () => " ",
    () => "../../../../etc/passwd",
    () => "x".repeat(rng.int(1000, 20_000)),
    () => "buffalo_l",
    () => "PP-OCRv5_mobile",
    () => "ViT-B-32__openai\u0000",
  ])();
}

/** A POST /predict with a well-formed multipart body. */
function post(rng: Prng, parts: Part[], label: string, expect: readonly number[], extra: Partial<Draft> = {}): Draft {
  const boundary = `immich-${[...rng.bytes(8)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  return {
    label,
    method: "POST",
    path: "/predict",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body: multipart(parts, { boundary }),
    expect,
    ...extra,
  };
}

const entriesPart = (entries: unknown): Part => ({ name: "entries", data: typeof entries === "string" ? entries : JSON.stringify(entries) });
const textPart = (text: string): Part => ({ name: "text", data: text });

function mutate(rng: Prng, input: Uint8Array): { bytes: Uint8Array; how: string } {
  let bytes: Uint8Array = input.slice();
  const steps: string[] = [];
  for (let n = rng.int(1, 3); n > 0 && bytes.length > 0; n--) {
    const at = rng.int(0, bytes.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        bytes = bytes.slice(0, at);
        steps.push(`truncate@${at}`);
        break;
      case 1: {
        const flips = rng.int(1, 8);
        for (let i = 0; i < flips; i++) bytes[rng.int(0, bytes.length - 1)]! ^= 1 << rng.int(0, 7);
        steps.push(`flip×${flips}`);
        break;
      }
      case 2: {
        // Headers hold the sizes, offsets and counts decoders trust most.
        const pos = rng.int(0, Math.min(63, bytes.length - 1));
        bytes[pos] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(0, 255)]);
        steps.push(`header[${pos}]`);
        break;
      }
      case 3: {
        const length = Math.min(rng.int(1, 256), bytes.length - at);
        bytes.set(rng.bytes(length), at);
        steps.push(`overwrite@${at}+${length}`);
        break;
      }
      case 4:
        bytes.fill(0, at);
        steps.push(`zero-tail@${at}`);
        break;
      case 5:
        bytes = concat([bytes.subarray(0, at), rng.bytes(rng.int(1, 512)), bytes.subarray(at)]);
        steps.push(`insert@${at}`);
        break;
      default: {
        const end = rng.int(at, bytes.length);
        bytes = concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
        steps.push(`repeat@${at}-${end}`);
      }
    }
  }
  return { bytes, how: steps.join(" + ") };
}

const MAGIC: Record<string, number[]> = {
  none: [],
  jpeg: [0xff, 0xd8, 0xff, 0xe0],
  png: [137, 80, 78, 71, 13, 10, 26, 10],
  gif: [...encoder.encode("GIF89a")],
  webp: [...encoder.encode("RIFF"), 0, 0, 0, 0, ...encoder.encode("WEBP")],
  tiff: [0x49, 0x49, 0x2a, 0],
  avif: [0, 0, 0, 0x1c, ...encoder.encode("ftypavif")],
  heic: [0, 0, 0, 0x18, ...encoder.encode("ftypheic")],
  svg: [...encoder.encode("<svg")],
};

const imageFamilies: Record<string, Family> = {
  "valid image": (rng, { target, corpus }) => {
    const seed = rng.pick(corpus);
    const extra = seed.size ? { imageSize: seed.size } : {};
    return post(rng, [entriesPart(visual(servedName(rng, target.modelName))), imagePart(seed.bytes)], seed.name, seed.size ? [200] : [400], extra);
  },
  "mutated image": (rng, { target, corpus }) => {
    const seed = rng.pick(corpus);
    const { bytes, how } = mutate(rng, seed.bytes);
    return post(rng, [entriesPart(visual(target.modelName)), imagePart(bytes)], `${seed.name}: ${how}`, [200, 400]);
  },
  "random bytes": (rng, { target }) => {
    const magic = rng.pick(Object.keys(MAGIC));
    const bytes = concat([new Uint8Array(MAGIC[magic]!), rng.bytes(rng.int(0, 4096))]);
    return post(rng, [entriesPart(visual(target.modelName)), imagePart(bytes)], `${bytes.length} bytes after magic ${magic}`, [200, 400]);
  },
  "empty image": (rng, { target }) => post(rng, [entriesPart(visual(target.modelName)), imagePart(new Uint8Array(0))], "0 bytes", [400]),
  "payload the model cannot read": (rng, { target, corpus }) =>
    rng.chance(0.5)
      ? post(rng, [entriesPart(textual(target.modelName)), imagePart(rng.pick(corpus.filter((s) => s.size)).bytes)], "textual model, image payload", [400])
      : post(rng, [entriesPart(visual(target.modelName)), textPart(QUERY)], "visual model, text payload", [400]),
};

/** Malformed `entries`, each with upstream's status (422 for shape, 400 for unknown names). */
function hostileEntries(rng: Prng, modelName: string): { entries: string; label: string; expect: readonly number[] } {
  const json = (label: string, value: unknown, expect: readonly number[]) => ({ entries: JSON.stringify(value), label, expect });
  const valid = JSON.stringify(textual(modelName));
  return rng.pick([
    () => ({ entries: rng.text(200), label: "random text", expect: [422] }),
    () => ({ entries: valid.slice(0, rng.int(0, valid.length - 1)), label: "truncated JSON", expect: [422] }),
    () => json("a list", [textual(modelName)], [422]),
    () => json("a scalar", rng.pick([null, 0, true, "clip", 1e308]), [422]),
    () => json("no task", {}, [422]),
    () => json("type is a string", { clip: "textual" }, [422]),
    () => json("types are a list", { clip: ["textual"] }, [422]),
    () => json("entry is a string", { clip: { textual: modelName } }, [422]),
    () => json("modelName missing", { clip: { textual: { options: {} } } }, [422]),
    () => json("modelName not a string", textual(rng.pick([5, null, [modelName], { name: modelName }, true])), [422]),
    () => json("options not an object", textual(modelName, rng.pick([[], "x", 1, true])), [422]),
    () => json("unknown task", { [`x-${rng.text(12)}`]: { textual: { modelName } } }, [400]),
    () => json("unknown type", { clip: { [rng.pick(["pipeline", "ocr", "detection", "", "Textual"])]: { modelName } } }, [400]),
    () => json("type of another task", { "facial-recognition": { textual: { modelName } } }, [400]),
    () => json("unknown model", textual(unknownName(rng)), [400]),
    () => json("unknown model, other task", { ocr: { detection: { modelName: `no-such-${rng.int(0, 1e6)}` } } }, [400]),
    () => json("prototype keys", { [rng.pick(["__proto__", "constructor", "toString", "hasOwnProperty"])]: { textual: { modelName } } }, [400]),
    () => json("5000 unknown tasks", Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`task${i}`, { visual: { modelName } }])), [400]),
    () => ({ entries: "[".repeat(20_000) + "]".repeat(20_000), label: "deep list", expect: [422] }),
    // Either the JSON parser refuses the depth (422) or the options are ignored (200): both are fine.
    () => ({
      entries: `{"clip":{"textual":{"modelName":"${modelName}","options":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}}}`,
      label: "deep options",
      expect: [200, 422],
    }),
    () => json("huge options", textual(modelName, Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))), [200]),
    () => json("a 1 MB model name", textual("m".repeat(1_000_000)), [400]),
  ])();
}

const entriesFamilies: Record<string, Family> = {
  "hostile entries": (rng, { target }) => {
    const { entries, label, expect } = hostileEntries(rng, target.modelName);
    return post(rng, [entriesPart(entries), textPart(QUERY)], label, expect);
  },
  "text query": (rng, { target }) => {
    const options = rng.pick([
      undefined,
      {},
      { language: rng.pick(["de", "pt-BR", "zh-CN", "", "xx-YY"]) },
      { language: 5 },
      { minScore: "high", [rng.text(5)]: [1] },
    ]);
    const text = rng.pick([() => QUERY, () => rng.text(300), () => "", () => " ".repeat(1000), () => "cat ".repeat(250_000)])();
    // An empty text field is no text at all, as FastAPI reads it upstream: neither image nor text, 400.
    return post(
      rng,
      [entriesPart(textual(servedName(rng, target.modelName), options)), textPart(text)],
      `${text.length} chars, options ${JSON.stringify(options)}`,
      text === "" ? [400] : [200],
    );
  },
};

/** The same form, sent the ways a broken or foreign client might. */
const bodyFamilies: Record<string, Family> = {
  "wrong content type": (rng, { target }) => {
    const body = multipart([entriesPart(textual(target.modelName)), textPart(QUERY)], { boundary: "b" });
    const type = rng.pick([
      "application/json",
      "text/plain",
      "image/jpeg",
      "application/octet-stream",
      "multipart/mixed; boundary=b",
      rng.text(30).replace(/[^\x20-\x7e]/g, ""),
    ]);
    // A random type that happens to name a form is judged by the form rules, not refused outright.
    const form = /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)\s*(;|$)/i.test(type);
    return { label: type, method: "POST", path: "/predict", headers: { "content-type": type }, body, expect: form ? [400, 422] : [415] };
  },
  "no content type": (_rng, { target }) => {
    const body = multipart([entriesPart(textual(target.modelName)), textPart(QUERY)], { boundary: "b" });
    return { label: "none", method: "POST", path: "/predict", headers: {}, body, expect: [415] };
  },
  "multipart without boundary": (rng, { target }) => {
    const body = multipart([entriesPart(textual(target.modelName)), textPart(QUERY)], { boundary: "b" });
    const type = rng.pick(["multipart/form-data", "multipart/form-data; charset=utf-8", "MULTIPART/FORM-DATA"]);
    return { label: type, method: "POST", path: "/predict", headers: { "content-type": type }, body, expect: [400] };
  },
  "broken multipart": (rng, { target, corpus }) => {
    const parts = [entriesPart(visual(target.modelName)), imagePart(rng.pick(corpus).bytes)];
    const boundary = "immich-fuzz";
    const shape = rng.pick([
      { label: "LF line breaks", body: () => multipart(parts, { boundary, newline: "\n" }) },
      { label: "no closing boundary", body: () => multipart(parts, { boundary, unterminated: true }) },
      { label: "body uses another boundary", body: () => multipart(parts, { boundary, bodyBoundary: "other" }) },
      {
        label: "cut mid-body",
        body: () => {
          const full = multipart(parts, { boundary });
          return full.slice(0, rng.int(0, full.length - 1));
        },
      },
      { label: "random bytes", body: () => rng.bytes(rng.int(0, 2048)) },
      { label: "empty", body: () => new Uint8Array(0) },
    ]);
    // The form may be unreadable (400), lose its entries (422), keep a broken image (400) or survive (200).
    return {
      label: shape.label,
      method: "POST",
      path: "/predict",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body: shape.body(),
      expect: [200, 400, 422],
    };
  },
  "duplicate parts": (rng, { target, corpus }) => {
    const good = corpus.find((s) => s.size)!;
    return rng.pick([
      () => post(rng, [entriesPart(textual(target.modelName)), entriesPart("not json"), textPart(QUERY)], "entries twice, first valid", [200]),
      () => post(rng, [entriesPart("not json"), entriesPart(textual(target.modelName)), textPart(QUERY)], "entries twice, first invalid", [422]),
      () => post(rng, [entriesPart(visual(target.modelName)), imagePart(good.bytes), imagePart(rng.bytes(64))], "image twice, first valid", [200]),
      () => post(rng, [entriesPart(textual(target.modelName)), textPart(QUERY), textPart(rng.text(50))], "text twice", [200]),
      () => post(rng, [entriesPart(visual(target.modelName)), textPart(QUERY), imagePart(good.bytes)], "text and image: image wins", [200]),
    ])();
  },
  "missing parts": (rng, { target }) =>
    rng.pick([
      () => post(rng, [textPart(QUERY)], "no entries", [422]),
      () => post(rng, [entriesPart(textual(target.modelName))], "neither image nor text", [400]),
      () => post(rng, [{ name: `x-${rng.int(0, 1e6)}`, data: rng.text(100) }], "only an unknown part", [422]),
    ])(),
  "urlencoded form": (rng, { target }) => {
    const valid = rng.chance(0.7);
    const entries = valid ? JSON.stringify(textual(target.modelName)) : `not json ${rng.text(50)}`;
    const text = rng.text(100);
    const body = encoder.encode(new URLSearchParams({ entries, text }).toString());
    // An empty text field counts as not sent, as FastAPI has it: valid entries then get a 400.
    const [label, status] = !valid ? ["random entries", 422] : text === "" ? ["valid entries, empty text", 400] : ["valid", 200];
    return {
      label,
      method: "POST",
      path: "/predict",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      expect: [status],
    };
  },
  "body over the limit": (rng, { target }) => {
    const image = new Uint8Array(target.maxBodyBytes + rng.int(1, 256 * 1024));
    return post(rng, [entriesPart(visual(target.modelName)), imagePart(image)], `${image.length} bytes`, [413], { mayDrop: true });
  },
  "wrong route": (rng) =>
    rng.pick([
      () => ({ label: "GET /predict", method: "GET", path: "/predict", headers: {}, body: undefined, expect: [405] }),
      () => ({ label: "PUT /predict", method: "PUT", path: "/predict", headers: {}, body: encoder.encode("x"), expect: [405] }),
      () => ({ label: "POST /ping", method: "POST", path: "/ping", headers: {}, body: undefined, expect: [405] }),
      () => ({ label: "unknown path", method: "GET", path: `/x${encodeURIComponent(rng.text(20))}`, headers: {}, body: undefined, expect: [404] }),
    ])(),
};

const families: Record<string, Family> = { ...imageFamilies, ...entriesFamilies, ...bodyFamilies };

/** How often each family is drawn: images and entries dominate, as in real traffic; big bodies are rare. */
const WEIGHTS: Record<keyof typeof families, number> = {
  "valid image": 8,
  "mutated image": 30,
  "random bytes": 8,
  "empty image": 1,
  "payload the model cannot read": 8,
  "hostile entries": 20,
  "text query": 8,
  "wrong content type": 3,
  "no content type": 3,
  "multipart without boundary": 3,
  "broken multipart": 3,
  "duplicate parts": 3,
  "missing parts": 3,
  "urlencoded form": 3,
  "body over the limit": 1,
  "wrong route": 3,
};
const FAMILIES = Object.entries(families).map(([name, make]): [string, Family, number] => {
  const weight = WEIGHTS[name];
  if (weight === undefined) throw new Error(`fuzz family '${name}' has no weight`);
  return [name, make, weight];
});
const TOTAL_WEIGHT = FAMILIES.reduce((sum, [, , weight]) => sum + weight, 0);

export class FuzzCases {
  constructor(
    private readonly seed: number,
    private readonly context: Context,
  ) {}

  static create(seed: number, target: FuzzTarget, corpus: readonly SeedImage[]): FuzzCases {
    return new FuzzCases(seed, { target, corpus });
  }

  at(index: number): FuzzCase {
    const rng = new Prng(Math.imul(this.seed, 0x9e3779b1) ^ index);
    let draw = rng.next() * TOTAL_WEIGHT;
    const [family, make] = FAMILIES.find(([, , weight]) => (draw -= weight) < 0) ?? FAMILIES[0]!;
    return { index, family, ...make(rng, this.context) };
  }
}
