/**
 * The benchmark's requests, after upstream's Locust user classes (contract spec §6) plus OCR and a
 * group photo, and the raw-onnxruntime floor of each (floor-plans.ts):
 *
 * - clip-text: `{"clip":{"textual":…}}` + `text="test search query"`, as Locust sends it;
 * - clip-text-long: the same with a 25-token sentence (the service runs a query at the shortest
 *   sequence length that holds it: 8 positions for Locust's query, 32 for this one, of 77);
 * - clip-image: `{"clip":{"visual":{…,"options":{}}}}` + a 1440 px preview of a real photo;
 * - faces: the Immich server's entry (`minScore` on detection) + a 1440 px preview of messi5.jpg;
 * - faces-locust: Locust's quirky entry (`minScore` on recognition, so detection keeps 0.7);
 * - ocr: the Immich server's OCR entry on a 1440 px preview of a street sign;
 * - faces-group: a group photo of 16 faces, recognised by the batch-capable embedder;
 * - mixed: what an Immich upload does to one asset (CLIP, faces, OCR) plus a search query, in
 *   turn on every connection.
 */
import { multipartBody, type LoadRequest } from "./lib.ts";
import { CLIP_MODEL, FACE_MODEL, FACE_MODEL_BATCHED, OCR_MODEL, type BenchCache } from "./cache.ts";
import { clipTextualPlan, clipVisualPlan, facesPlan, ocrPlan, type FloorPlan, type RawSessions } from "./floor-plans.ts";
import { faceGrid, fixturePreview } from "./photos.ts";

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** Requests each connection sends in turn (one, except for the mixed load). */
  requests: LoadRequest[];
}

export type ScenarioId = "clip-text" | "clip-text-long" | "clip-image" | "faces" | "faces-locust" | "ocr" | "faces-group" | "mixed" | "faces-batched";
/** Floors: one per scenario, plus the group photo with one face per recogniser run. */
export type FloorId = ScenarioId | "faces-group-unbatched";

export const SEARCH_QUERY = "test search query";
/** 25 tokens with CLIP's tokenizer, start and end included. */
const LONG_SEARCH_QUERY = "two children in red raincoats jumping into puddles on a rainy autumn afternoon in the park near the old stone bridge";
const FACE_MIN_SCORE = 0.7;
const OCR_OPTIONS = { maxResolution: 736, boxThresh: 0.5, maxBatch: 6 };
const GRID = { columns: 4, rows: 4 };

/** The `entries` of each request kind, as the Immich server sends them (exported for the soak). */
export const entries = {
  clipText: { clip: { textual: { modelName: CLIP_MODEL } } },
  clipImage: { clip: { visual: { modelName: CLIP_MODEL, options: {} } } },
  faces: (model: string) => ({
    "facial-recognition": { detection: { modelName: model, options: { minScore: FACE_MIN_SCORE } }, recognition: { modelName: model } },
  }),
  // Locust's form: minScore (0.034) on recognition, where nothing reads it.
  facesLocust: { "facial-recognition": { recognition: { modelName: FACE_MODEL, options: { minScore: 0.034 } }, detection: { modelName: FACE_MODEL } } },
  ocr: {
    ocr: {
      detection: { modelName: OCR_MODEL, options: { minScore: OCR_OPTIONS.boxThresh, maxResolution: OCR_OPTIONS.maxResolution } },
      recognition: { modelName: OCR_MODEL, options: { minScore: 0.8 } },
    },
  },
};

export const post = (entry: unknown, part: { image: Uint8Array } | { text: string }): LoadRequest => multipartBody({ entries: JSON.stringify(entry), ...part });

const photos = () => Promise.all([fixturePreview("scenetext01.jpg"), fixturePreview("messi5.jpg"), faceGrid(GRID.columns, GRID.rows)]);

/** Every scenario; `faces-batched` is only run for the batching comparison. */
export async function buildScenarios(): Promise<Scenario[]> {
  const [sign, messi, group] = await photos();
  const clipText = post(entries.clipText, { text: SEARCH_QUERY });
  const clipImage = post(entries.clipImage, { image: sign });
  const faces = post(entries.faces(FACE_MODEL), { image: messi });
  const ocr = post(entries.ocr, { image: sign });
  return [
    { id: "clip-text", title: `CLIP text "${SEARCH_QUERY}"`, requests: [clipText] },
    { id: "clip-text-long", title: "CLIP text, a 25-token sentence", requests: [post(entries.clipText, { text: LONG_SEARCH_QUERY })] },
    { id: "clip-image", title: "CLIP image (1440 px photo)", requests: [clipImage] },
    { id: "faces", title: "Faces (1440 px photo, one face)", requests: [faces] },
    { id: "faces-locust", title: "Faces, Locust's entry (minScore on recognition)", requests: [post(entries.facesLocust, { image: messi })] },
    { id: "ocr", title: "OCR (1440 px street sign)", requests: [ocr] },
    {
      id: "faces-group",
      title: `Group photo (${GRID.columns}×${GRID.rows} faces, batch-capable embedder)`,
      requests: [post(entries.faces(FACE_MODEL_BATCHED), { image: group })],
    },
    { id: "mixed", title: "Mixed: CLIP image + faces + OCR + CLIP text in turn", requests: [clipImage, faces, ocr, clipText] },
    { id: "faces-batched", title: "Faces (one face), batch-capable embedder", requests: [post(entries.faces(FACE_MODEL_BATCHED), { image: messi })] },
  ];
}

function concat(plans: FloorPlan[]): FloorPlan {
  return { steps: plans.flatMap((plan) => plan.steps), units: plans.reduce((sum, plan) => sum + plan.units, 0), images: plans.flatMap((plan) => plan.images) };
}

/** The raw runs of each scenario's request list (for the service's defaults: all faces of a request in one run). */
export async function buildFloors(cache: BenchCache, sessions: RawSessions): Promise<Record<FloorId, FloorPlan>> {
  const m = cache.models;
  const [sign, messi, group] = await photos();
  const detector = m[`facial-recognition/${FACE_MODEL}/detection`]!;
  // The same detector file under the batched pack's name, as the service labels its runs.
  const batchedDetector = m[`facial-recognition/${FACE_MODEL_BATCHED}/detection`]!;
  const batchedRecognizer = m[`facial-recognition/${FACE_MODEL_BATCHED}/recognition`]!;
  const clipText = await clipTextualPlan(m[`clip/${CLIP_MODEL}/textual`]!, SEARCH_QUERY);
  const clipImage = await clipVisualPlan(m[`clip/${CLIP_MODEL}/visual`]!, sign);
  // The fixture embedder's batch axis is fixed to 1: one run per face.
  const faces = await facesPlan(sessions, detector, m[`facial-recognition/${FACE_MODEL}/recognition`]!, messi, FACE_MIN_SCORE, 1);
  const ocr = await ocrPlan(sessions, m[`ocr/${OCR_MODEL}/detection`]!, m[`ocr/${OCR_MODEL}/recognition`]!, sign, OCR_OPTIONS);
  return {
    "clip-text": clipText,
    "clip-text-long": await clipTextualPlan(m[`clip/${CLIP_MODEL}/textual`]!, LONG_SEARCH_QUERY),
    "clip-image": clipImage,
    faces,
    "faces-locust": faces,
    ocr,
    "faces-group": await facesPlan(sessions, batchedDetector, batchedRecognizer, group, FACE_MIN_SCORE, Number.POSITIVE_INFINITY),
    "faces-group-unbatched": await facesPlan(sessions, batchedDetector, batchedRecognizer, group, FACE_MIN_SCORE, 1),
    mixed: concat([clipImage, faces, ocr, clipText]),
    "faces-batched": await facesPlan(sessions, batchedDetector, batchedRecognizer, messi, FACE_MIN_SCORE, 1),
  };
}
