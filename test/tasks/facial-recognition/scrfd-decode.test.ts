/** SCRFD decoding on hand-made output tensors: no model, no fixtures. */
import { describe, expect, test } from "bun:test";
import { decodeScrfd, MAX_NMS_CANDIDATES, scrfdInput, type RawOutput } from "../../../src/tasks/facial-recognition/scrfd.ts";
import { greedyNms } from "../../../src/tasks/facial-recognition/nms.ts";
import { clearTensorPool, pooledFloat32, recycleTensor } from "../../../src/runtime/tensor-pool.ts";

const STRIDES = [8, 16, 32];
const ANCHORS = 2;

interface Synthetic {
  stride: number;
  /** cell column, row and anchor index within the cell */
  cell: [number, number, number];
  score: number;
  /** wanted box in letterbox pixels; the distances are derived from it */
  box: [number, number, number, number];
  /** wanted landmark coordinates in letterbox pixels */
  landmarks: number[];
}

/** Builds the 9 outputs (scores ×3, boxes ×3, keypoints ×3) the way the fixture models emit them. */
function outputs(inputSize: number, detections: Synthetic[], batched = false): RawOutput[] {
  const levels = STRIDES.map((stride) => {
    const rows = (inputSize / stride) ** 2 * ANCHORS;
    return { stride, rows, scores: new Float32Array(rows), boxes: new Float32Array(rows * 4), kps: new Float32Array(rows * 10) };
  });
  for (const d of detections) {
    const level = levels.find((l) => l.stride === d.stride)!;
    const [col, row, anchor] = d.cell;
    const a = (row * (inputSize / d.stride) + col) * ANCHORS + anchor;
    const [cx, cy] = [col * d.stride, row * d.stride];
    level.scores[a] = d.score;
    level.boxes.set([(cx - d.box[0]) / d.stride, (cy - d.box[1]) / d.stride, (d.box[2] - cx) / d.stride, (d.box[3] - cy) / d.stride], 4 * a);
    level.kps.set(
      d.landmarks.map((v, k) => (v - (k % 2 === 0 ? cx : cy)) / d.stride),
      10 * a,
    );
  }
  const tensor = (data: Float32Array, rows: number, k: number): RawOutput => ({ dims: batched ? [1, rows, k] : [rows, k], data });
  return [...levels.map((l) => tensor(l.scores, l.rows, 1)), ...levels.map((l) => tensor(l.boxes, l.rows, 4)), ...levels.map((l) => tensor(l.kps, l.rows, 10))];
}

const faceA: Synthetic = {
  stride: 8,
  cell: [10, 5, 1],
  score: 0.9,
  box: [64, 16, 112, 80],
  landmarks: [75, 40, 100, 41, 88, 55, 77, 68, 99.5, 67.25],
};
const faceB: Synthetic = {
  stride: 32,
  cell: [3, 7, 0],
  score: 0.75,
  box: [40, 150, 210, 330],
  landmarks: [90, 220, 160, 222, 125, 260, 95, 300, 155, 298],
};

describe("decodeScrfd", () => {
  test("two detections decode to their exact boxes, scores and landmarks, best first", () => {
    const det = decodeScrfd(outputs(640, [faceB, faceA]), 640, 1, 0.5);
    expect([...det.boxes]).toEqual([...faceA.box, ...faceB.box]);
    expect([...det.scores]).toEqual([Math.fround(0.9), Math.fround(0.75)]);
    expect([...det.landmarks]).toEqual([...faceA.landmarks, ...faceB.landmarks]);
  });

  test("batched [1, N, k] outputs decode like [N, k]", () => {
    const plain = decodeScrfd(outputs(640, [faceA, faceB]), 640, 1, 0.5);
    const batched = decodeScrfd(outputs(640, [faceA, faceB], true), 640, 1, 0.5);
    expect(batched).toEqual(plain);
  });

  test("outputs are recognised by shape, whatever their order", () => {
    const plain = outputs(640, [faceA, faceB]);
    const shuffled = [plain[4]!, plain[8]!, plain[2]!, plain[3]!, plain[0]!, plain[7]!, plain[5]!, plain[1]!, plain[6]!];
    expect(decodeScrfd(shuffled, 640, 1, 0.5)).toEqual(decodeScrfd(plain, 640, 1, 0.5));
  });

  test("minScore keeps scores at or above it (compared in float32)", () => {
    const out = outputs(640, [faceA, faceB]);
    expect(decodeScrfd(out, 640, 1, 0.8).scores.length).toBe(1);
    expect(decodeScrfd(out, 640, 1, 0.95).scores.length).toBe(0);
    // 0.75 is exact in float32; a face scoring exactly minScore is kept
    expect(decodeScrfd(out, 640, 1, 0.75).scores.length).toBe(2);
    const tenth = outputs(640, [{ ...faceA, score: 0.1 }]);
    expect(decodeScrfd(tenth, 640, 1, 0.1).scores.length).toBe(1);
  });

  test("coordinates are divided by det_scale, boxes rounded half to even, landmarks not rounded", () => {
    // A 320x320 input for a 640x640 photo: det_scale 0.5 doubles every coordinate.
    const doubled = decodeScrfd(outputs(320, [faceA]), 320, 0.5, 0.5);
    expect([...doubled.boxes]).toEqual(faceA.box.map((v) => v * 2));
    expect([...doubled.landmarks]).toEqual(faceA.landmarks.map((v) => v * 2));
    // det_scale 2: 64/2 = 32, 16/2 = 8; 113/2 = 56.5 -> 56 and 83/2 = 41.5 -> 42 (ties to even)
    const halved = decodeScrfd(outputs(640, [{ ...faceA, box: [64, 16, 113, 83] }]), 640, 2, 0.5);
    expect([...halved.boxes]).toEqual([32, 8, 56, 42]);
    expect(halved.landmarks[9]).toBe(67.25 / 2);
  });

  test("boxes are not clipped to the image", () => {
    const edge: Synthetic = { ...faceA, cell: [0, 0, 0], box: [-20, -30, 40, 50], landmarks: [-5, -6, 10, 11, 1, 2, -3, 30, 20, 33] };
    const det = decodeScrfd(outputs(640, [edge]), 640, 1, 0.5);
    expect([...det.boxes]).toEqual([-20, -30, 40, 50]);
  });

  describe("NMS (IoU > 0.4 suppresses, areas with the +1 convention)", () => {
    const at = (anchor: number, score: number, box: Synthetic["box"]): Synthetic => ({
      stride: 16,
      cell: [2, 2, anchor],
      score,
      box,
      landmarks: new Array(10).fill(32),
    });

    test("an overlapping weaker box is suppressed, the stronger stays", () => {
      const det = decodeScrfd(outputs(640, [at(0, 0.6, [0, 0, 60, 60]), at(1, 0.8, [5, 5, 62, 62])]), 640, 1, 0.5);
      expect([...det.scores]).toEqual([Math.fround(0.8)]);
      expect([...det.boxes]).toEqual([5, 5, 62, 62]);
    });

    test("disjoint boxes both survive", () => {
      const det = decodeScrfd(outputs(640, [at(0, 0.6, [0, 0, 20, 20]), at(1, 0.8, [30, 30, 62, 62])]), 640, 1, 0.5);
      expect(det.scores.length).toBe(2);
    });

    test("+1 areas: 11x5 inside 11x11 is IoU 0.45 (suppressed), though 40/100 without +1", () => {
      const det = decodeScrfd(outputs(640, [at(0, 0.9, [0, 0, 10, 10]), at(1, 0.8, [0, 0, 10, 4])]), 640, 1, 0.5);
      expect(det.scores.length).toBe(1);
    });

    test("IoU exactly 0.4 is kept (strictly greater suppresses)", () => {
      // +1 areas: 10x10 = 100 and 10x4 = 40, overlap 40 -> IoU 0.4
      const det = decodeScrfd(outputs(640, [at(0, 0.9, [0, 0, 9, 9]), at(1, 0.8, [0, 0, 9, 3])]), 640, 1, 0.5);
      expect(det.scores.length).toBe(2);
    });
  });

  test("no detections gives empty arrays", () => {
    const det = decodeScrfd(outputs(640, []), 640, 1, 0.5);
    expect([det.boxes.length, det.scores.length, det.landmarks.length]).toEqual([0, 0, 0]);
  });

  test("a model without keypoint outputs is rejected with a clear error", () => {
    expect(() => decodeScrfd(outputs(640, [faceA]).slice(0, 6), 640, 1, 0.5)).toThrow(/no keypoint outputs/);
  });

  test("outputs that do not fit the input size are rejected", () => {
    expect(() => decodeScrfd(outputs(640, [faceA]), 320, 1, 0.5)).toThrow(/do not fit/);
    expect(() => decodeScrfd(outputs(640, [faceA]).slice(0, 8), 640, 1, 0.5)).toThrow(/unrecognised SCRFD outputs/);
  });
});

describe("scrfdInput", () => {
  const white = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(255) });
  const WHITE = (255 - 127.5) / 128;
  const BLACK = -127.5 / 128;

  /** How many tensor values are the white image's and the black canvas's. */
  function canvasCounts(tensor: Float32Array): { white: number; black: number } {
    const counts = { white: 0, black: 0 };
    for (const v of tensor) v === WHITE ? counts.white++ : v === BLACK && counts.black++;
    return counts;
  }

  /** Width and height of the non-padding area of a letterboxed white image. */
  function content(tensor: Float32Array, size: number): [number, number] {
    let w = 0;
    while (w < size && tensor[w] === WHITE) w++;
    let h = 0;
    while (h < size && tensor[h * size] === WHITE) h++;
    return [w, h];
  }

  test("landscape: width to 640, height int(640 * h / w), pasted top-left on black", () => {
    const { tensor, scale } = scrfdInput(white(548, 342));
    expect(tensor.length).toBe(3 * 640 * 640);
    expect(content(tensor, 640)).toEqual([640, 399]);
    expect(scale).toBe(399 / 342);
    expect(tensor[640 * 640 - 1]).toBe(BLACK);
    expect(tensor[2 * 640 * 640 + 398 * 640 + 639]).toBe(WHITE);
    expect(canvasCounts(tensor)).toEqual({ white: 3 * 640 * 399, black: 3 * 640 * (640 - 399) });
  });

  test("portrait: height to 640, width truncated like Python int() (423.99999999999994 -> 423)", () => {
    const { tensor, scale } = scrfdInput(white(106, 160));
    expect(content(tensor, 640)).toEqual([423, 640]);
    expect(scale).toBe(640 / 160);
    // Every value is the image's or the black canvas's, in all three planes.
    expect(canvasCounts(tensor)).toEqual({ white: 3 * 423 * 640, black: 3 * (640 - 423) * 640 });
  });

  test("a recycled tensor shows none of its previous image: the canvas is written, not assumed zero", () => {
    clearTensorPool();
    const portrait = scrfdInput(white(106, 160)).tensor; // white left, black right
    recycleTensor(portrait);
    const landscape = scrfdInput(white(548, 342)).tensor; // white top, black bottom
    expect(landscape.buffer).toBe(portrait.buffer);
    expect(content(landscape, 640)).toEqual([640, 399]);
    expect(canvasCounts(landscape)).toEqual({ white: 3 * 640 * 399, black: 3 * 640 * (640 - 399) });
  });

  test("a recycled tensor of a photo of the same shape keeps its canvas; written over by another user, it is refilled", () => {
    clearTensorPool();
    const first = scrfdInput(white(548, 342)).tensor;
    // A mark in the canvas: the next letterbox of this shape finds the canvas written and leaves it.
    first[640 * 640 - 1] = 7;
    recycleTensor(first);
    const same = scrfdInput(white(548, 342)).tensor;
    expect(same.buffer).toBe(first.buffer);
    expect(same[640 * 640 - 1]).toBe(7);
    same[640 * 640 - 1] = BLACK;
    recycleTensor(same);
    // Another kernel's tensor of this length (every value its own), then the letterbox again.
    const other = pooledFloat32(3 * 640 * 640).fill(7);
    expect(other.buffer).toBe(first.buffer);
    recycleTensor(other);
    const refilled = scrfdInput(white(548, 342)).tensor;
    expect(refilled.buffer).toBe(first.buffer);
    expect(canvasCounts(refilled)).toEqual({ white: 3 * 640 * 399, black: 3 * 640 * (640 - 399) });
  });

  test("photos of two shapes in turn each get the tensor holding their canvas", () => {
    clearTensorPool();
    const portrait = scrfdInput(white(106, 160)).tensor;
    const landscape = scrfdInput(white(548, 342)).tensor;
    recycleTensor(portrait);
    recycleTensor(landscape);
    for (let round = 0; round < 2; round++) {
      const l = scrfdInput(white(548, 342)).tensor;
      const p = scrfdInput(white(106, 160)).tensor;
      expect([l.buffer === landscape.buffer, p.buffer === portrait.buffer]).toEqual([true, true]);
      expect(canvasCounts(l)).toEqual({ white: 3 * 640 * 399, black: 3 * 640 * (640 - 399) });
      expect(canvasCounts(p)).toEqual({ white: 3 * 423 * 640, black: 3 * (640 - 423) * 640 });
      recycleTensor(l);
      recycleTensor(p);
    }
  });

  test("RGB planes in order, (p - 127.5) / 128", () => {
    const image = { width: 2, height: 2, data: new Uint8Array([255, 0, 128, 255, 0, 128, 255, 0, 128, 255, 0, 128]) };
    const { tensor } = scrfdInput(image, 32);
    const plane = 32 * 32;
    expect([tensor[0], tensor[plane], tensor[2 * plane]]).toEqual([WHITE, BLACK, 0.5 / 128]);
  });

  test("images too thin to letterbox are rejected", () => {
    expect(() => scrfdInput(white(1, 700))).toThrow(/too elongated/);
  });
});

describe("bounded work at minScore 0", () => {
  /** Every anchor of a 640 input scored (distinct, falling with its index), each a small box at its cell. */
  function everyAnchorScored(): RawOutput[] {
    let next = 0;
    return STRIDES.flatMap((stride) => {
      const rows = (640 / stride) ** 2 * ANCHORS;
      const scores = Float32Array.from({ length: rows }, () => 1 - next++ / 20_000);
      return [
        { dims: [rows, 1], data: scores },
        { dims: [rows, 4], data: new Float32Array(rows * 4).fill(0.1) },
        { dims: [rows, 10], data: new Float32Array(rows * 10) },
      ];
    });
  }

  test(`at most ${MAX_NMS_CANDIDATES} candidates, the best scoring, go into NMS`, () => {
    const outputs = everyAnchorScored();
    const started = performance.now();
    const det = decodeScrfd(outputs, 640, 1, 0);
    expect(performance.now() - started).toBeLessThan(2_000);
    // Two anchors share each cell and box: NMS keeps one of each pair of the first 1000.
    expect(det.scores.length).toBe(MAX_NMS_CANDIDATES / 2);
    expect(det.scores[0]).toBe(Math.fround(1));
    expect(Math.min(...det.scores)).toBeGreaterThanOrEqual(Math.fround(1 - (MAX_NMS_CANDIDATES - 1) / 20_000));
  });
});

describe("greedyNms", () => {
  /** insightface's loop as written there: keep the best, filter the rest against it, repeat. */
  function referenceNms(boxes: Float32Array, order: number[], iouThreshold: number): number[] {
    const f = Math.fround;
    const threshold = f(iouThreshold);
    const area = (i: number) => f(f(f(boxes[4 * i + 2]! - boxes[4 * i]!) + 1) * f(f(boxes[4 * i + 3]! - boxes[4 * i + 1]!) + 1));
    const keep: number[] = [];
    let remaining = order;
    while (remaining.length > 0) {
      const best = remaining[0]!;
      keep.push(best);
      remaining = remaining.slice(1).filter((j) => {
        const w = Math.max(0, f(f(Math.min(boxes[4 * best + 2]!, boxes[4 * j + 2]!) - Math.max(boxes[4 * best]!, boxes[4 * j]!)) + 1));
        const h = Math.max(0, f(f(Math.min(boxes[4 * best + 3]!, boxes[4 * j + 3]!) - Math.max(boxes[4 * best + 1]!, boxes[4 * j + 1]!)) + 1));
        const inter = f(w * h);
        return f(inter / f(f(area(best) + area(j)) - inter)) <= threshold;
      });
    }
    return keep;
  }

  test("keeps exactly what insightface's loop keeps on 300 overlapping random boxes", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const boxes = new Float32Array(300 * 4);
    for (let i = 0; i < 300; i++) {
      const [x, y] = [random() * 200, random() * 200];
      boxes.set([x, y, x + 5 + random() * 60, y + 5 + random() * 60], 4 * i);
    }
    const order = Array.from({ length: 300 }, (_, i) => i).sort(() => random() - 0.5);
    const kept = greedyNms(boxes, order, 0.4);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(300);
    expect(kept).toEqual(referenceNms(boxes, order, 0.4));
  });
});
