#!/usr/bin/python3
"""Golden values for the OCR pipeline's pure steps.

An independent reference for the TypeScript port, built from the libraries upstream Immich runs
(cv2, numpy, PIL), following the contract spec (sections 2.6 and 2.7) and Immich's vendored
RapidOCR post-processing: threshold 0.3, 2x2 dilation, findContours(RETR_LIST, SIMPLE),
minAreaRect, box score by fillPoly + mean, "unclip" by growing the rectangle (no pyclipper),
scaling, clockwise ordering, edge filter, upstream's reading-order sort; crops by PIL's
PERSPECTIVE/BICUBIC transform with the SVD homography; RapidOCR's recognition batching.

Run with Debian's interpreter (cv2 4.6, PIL 9.4, numpy) plus onnxruntime, the runtime upstream
uses (cv2 4.6's dnn mis-evaluates this detector at some input sizes, e.g. 768x736):
    /usr/bin/python3 -m pip install --target /tmp/ortpy onnxruntime==1.30.0
    PYTHONPATH=/tmp/ortpy /usr/bin/python3 scripts/reference/ocr.py [fixtures_dir]
Writes test/golden/ocr/{postprocess.json, preprocess.json, photos.json, crops/*.png}.
The fixture photos and the detector are read from ../shared/fixtures and never copied.

Known version difference: cv2 4.6 fills polygons that reach outside the mask with slightly
different edge slopes than current OpenCV (upstream pins 4.14), so box scores of regions
touching the map border may differ in the last digits. The synthetic maps keep clear of it.
"""
import base64
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "fixtures"
OUT = ROOT / "test" / "golden" / "ocr"

THRESH = 0.3
MAX_CANDIDATES = 1000
UNCLIP_RATIO = 1.6
MIN_SIZE = 3
PHOTOS = ["scenetext01.jpg", "scenetext03.jpg", "robin.jpg"]
DETECTOR = "ppocr_v3_en_det.onnx"


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


# ---------------------------------------------------------------- DB post-processing

def box_score(probs, poly):
    """Mean of probs under cv2.fillPoly(poly) in the poly's pixel bounding box."""
    h, w = probs.shape
    xs, ys = poly.reshape(-1, 2).T
    x0 = min(max(math.floor(xs.min()), 0), w - 1)
    x1 = min(max(math.ceil(xs.max()), 0), w - 1)
    y0 = min(max(math.floor(ys.min()), 0), h - 1)
    y1 = min(max(math.ceil(ys.max()), 0), h - 1)
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(mask, poly.reshape(1, -1, 2).astype(np.int32), 1, offset=(-x0, -y0))
    return cv2.mean(probs[y0:y1 + 1, x0:x1 + 1], mask)[0]


def clockwise(box):
    """Corners as TL, TR, BR, BL: leftmost pair split by y, then the rightmost pair."""
    by_x = box[np.argsort(box[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def reading_order(boxes):
    """Upstream's sorted_boxes, including its line_ids[y_order] lookup."""
    y_order = np.argsort(boxes[:, 0, 1], kind="stable")
    sorted_y = boxes[y_order, 0, 1]
    line_ids = np.zeros(len(boxes), dtype=np.int32)
    line_ids[1:] = np.cumsum(np.abs(np.diff(sorted_y)) >= 10)
    key = line_ids[y_order] * 1e6 + boxes[y_order, 0, 0]
    return y_order[np.argsort(key, kind="stable")]


def db_postprocess(probs, dest_w, dest_h, box_thresh, score_mode, trace=None):
    """probs: float32 [H, W]. Returns (boxes [N,4,2] float32, scores [N] float32)."""
    height, width = probs.shape
    mask = (probs > THRESH).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), dtype=np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if trace is not None:
        trace["contours"] = [c.reshape(-1).tolist() for c in contours]
        trace["rects"] = []
    boxes, scores = [], []
    for contour in contours[:MAX_CANDIDATES]:
        rect = cv2.minAreaRect(contour)
        if trace is not None:
            trace["rects"].append(floats(cv2.boxPoints(rect)))
        if min(rect[1]) < MIN_SIZE:
            continue
        poly = cv2.boxPoints(rect) if score_mode == "fast" else contour
        score = box_score(probs, poly)
        if box_thresh > score:
            continue
        w, h = rect[1]
        grow = w * h * UNCLIP_RATIO / (w + h)
        if min(w, h) + grow < MIN_SIZE + 2:
            continue
        box = cv2.boxPoints((rect[0], (w + grow, h + grow), rect[2])).astype(np.float32)
        box *= [dest_w / width, dest_h / height]
        box = np.clip(np.round(box), 0, [dest_w, dest_h]).astype(np.float32)
        boxes.append(box)
        scores.append(score)
    kept_boxes, kept_scores = [], []
    for box, score in zip(boxes, scores):
        box = clockwise(box)
        box = np.clip(box, 0, [dest_w - 1, dest_h - 1])
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept_boxes.append(box)
        kept_scores.append(score)
    if not kept_boxes:
        return np.zeros((0, 4, 2), np.float32), np.zeros(0, np.float32)
    boxes = np.stack(kept_boxes)
    scores = np.array(kept_scores, dtype=np.float32)
    order = reading_order(boxes)
    return boxes[order], scores[order]


def synthetic_map(seed, width, height, shapes):
    """A probability map: quantised (uint8) so the TS test can rebuild the same float32 values."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((height, width), np.float32)
    for (cx, cy, w, h, angle, level) in shapes:
        layer = np.zeros_like(canvas)
        pts = cv2.boxPoints(((cx, cy), (w, h), angle))
        cv2.fillPoly(layer, [np.round(pts).astype(np.int32)], float(level))
        canvas = np.maximum(canvas, layer)
    canvas = cv2.GaussianBlur(canvas, (5, 5), 1.2)
    canvas += rng.uniform(0, 0.25, canvas.shape).astype(np.float32)
    return np.clip(np.round(canvas * 255), 0, 255).astype(np.uint8)


SYNTHETIC = [
    # name, seed, map w, map h, original w, original h, shapes (cx, cy, w, h, angle, level)
    ("lines", 1, 96, 64, 300, 200, [(30, 12, 40, 8, 0, 1.0), (62, 14, 22, 9, 0, 0.9), (40, 34, 56, 10, 0, 1.0),
                                    (70, 52, 30, 7, 0, 0.8), (20, 52, 20, 7, 0, 1.0)]),
    ("rotated", 2, 80, 80, 333, 317, [(40, 40, 50, 12, 30, 0.9), (25, 62, 26, 8, -20, 0.85), (60, 16, 30, 10, 75, 0.6)]),
    ("blobs", 3, 64, 48, 640, 480, [(16, 14, 7, 5, 10, 1.0), (40, 20, 14, 14, 45, 0.8), (30, 38, 36, 5, 5, 0.7)]),
    ("vertical", 4, 48, 96, 96, 192, [(24, 48, 10, 70, 0, 0.9), (10, 20, 4, 30, 0, 0.8)]),
]


def postprocess_goldens():
    cases = []
    for name, seed, w, h, ow, oh, shapes in SYNTHETIC:
        q = synthetic_map(seed, w, h, shapes)
        probs = q.astype(np.float32) / np.float32(255)
        case = {"name": name, "width": w, "height": h, "origWidth": ow, "origHeight": oh,
                "map": base64.b64encode(q.tobytes()).decode()}
        trace = {}
        for mode in ("fast", "slow"):
            for thresh in (0.5, 0.7):
                boxes, scores = db_postprocess(probs, ow, oh, thresh, mode, trace)
                case[f"{mode}_{thresh}"] = {"boxes": floats(boxes), "scores": floats(scores)}
        case.update(trace)
        cases.append(case)
    return cases


# ---------------------------------------------------------------- detection preprocessing

def detection_size(w, h, max_resolution):
    ratio = float(max_resolution) / h if h < w else float(max_resolution) / w
    ratio = min(ratio, 1.0)
    rh, rw = int(h * ratio), int(w * ratio)
    return int(round(rw / 32) * 32), int(round(rh / 32) * 32)


SIZE_CASES = [(800, 600, 736), (1004, 958, 736), (380, 254, 736), (4000, 3000, 736), (3000, 4000, 736),
              (1000, 48, 736), (1000, 80, 736), (48, 1000, 736), (2000, 1500, 1024), (33, 33, 736),
              (1200, 1200, 500), (5000, 240, 736), (4032, 3024, 640)]


def detector_input(img, max_resolution):
    w, h = detection_size(img.width, img.height, max_resolution)
    resized = img.resize((w, h), resample=Image.Resampling.LANCZOS)
    x = cv2.cvtColor(np.array(resized, dtype=np.float32), cv2.COLOR_RGB2BGR)
    x -= np.float32(0.5)
    x *= np.float32(1.0) / (np.float32(0.5) * np.float32(255.0))
    return np.transpose(x, (2, 0, 1))[None]


def photo_goldens():
    session = ort.InferenceSession(str(FIXTURES / "models" / DETECTOR), providers=["CPUExecutionProvider"])
    photos = []
    for name in PHOTOS:
        img = Image.open(FIXTURES / "images" / name).convert("RGB")
        x = detector_input(img, 736)
        probs = session.run(None, {"x": x})[0][0, 0]
        entry = {"name": name, "width": img.width, "height": img.height,
                 "inputWidth": int(x.shape[3]), "inputHeight": int(x.shape[2]),
                 "inputChannelMeans": [float(x[0, c].mean(dtype=np.float64)) for c in range(3)],
                 "inputSamples": floats(x.ravel()[::7919]),
                 "mapMean": float(probs.mean(dtype=np.float64))}
        for mode in ("fast", "slow"):
            boxes, scores = db_postprocess(probs, img.width, img.height, 0.5, mode)
            entry[mode] = {"boxes": floats(boxes), "scores": floats(scores)}
        photos.append(entry)
    return photos


# ---------------------------------------------------------------- recognition preprocessing

def homography(src, dst):
    """Immich's batched SVD solve, in float32 like upstream."""
    n = src.shape[0]
    x, y = src[:, :, 0], src[:, :, 1]
    u, v = dst[:, :, 0], dst[:, :, 1]
    a = np.zeros((n, 8, 9), dtype=np.float32)
    a[:, ::2, 0], a[:, ::2, 1], a[:, ::2, 2] = x, y, 1
    a[:, ::2, 6], a[:, ::2, 7], a[:, ::2, 8] = -u * x, -u * y, -u
    a[:, 1::2, 3], a[:, 1::2, 4], a[:, 1::2, 5] = x, y, 1
    a[:, 1::2, 6], a[:, 1::2, 7], a[:, 1::2, 8] = -v * x, -v * y, -v
    _, _, vt = np.linalg.svd(a)
    hm = vt[:, -1, :].reshape(n, 3, 3)
    hm = hm / hm[:, 2:3, 2:3]
    return hm.reshape(n, 9)[:, :8]


def exact_homography(src, dst):
    """The same 8 equations solved in float64 (isolates PIL's sampling from SVD noise)."""
    out = []
    for s, d in zip(src.astype(np.float64), dst.astype(np.float64)):
        a, b = [], []
        for (x, y), (u, v) in zip(s, d):
            a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
            b.append(u)
            a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
            b.append(v)
        out.append(np.linalg.solve(np.array(a), np.array(b)))
    return np.array(out)


def crop_lines(img, boxes, solve=homography):
    """Immich's get_crop_img_list; returns RGB arrays (before its BGR conversion)."""
    boxes = boxes.astype(np.float32)
    widths = np.maximum(np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1),
                        np.linalg.norm(boxes[:, 2] - boxes[:, 3], axis=1)).astype(np.int32)
    heights = np.maximum(np.linalg.norm(boxes[:, 0] - boxes[:, 3], axis=1),
                         np.linalg.norm(boxes[:, 1] - boxes[:, 2], axis=1)).astype(np.int32)
    std = np.zeros((len(boxes), 4, 2), dtype=np.float32)
    std[:, 1:3, 0] = widths[:, None]
    std[:, 2:4, 1] = heights[:, None]
    crops = []
    for coeffs, w, h in zip(solve(std, boxes), widths, heights):
        out = img.transform((int(w), int(h)), Image.Transform.PERSPECTIVE, tuple(float(c) for c in coeffs),
                            Image.Resampling.BICUBIC)
        if out.height * 1.0 / out.width >= 1.5:
            out = out.rotate(90, expand=True)
        crops.append(np.array(out))
    return crops


def pattern(width, height):
    """Deterministic test image; test/tasks/ocr/pattern.ts computes the same RGB bytes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = (x * x + 3 * y) & 255
    g = ((5 * x) ^ (9 * y)) & 255
    b = ((x + y) * 11 + (x * y) // 7) & 255
    return np.stack([r, g, b], axis=2).astype(np.uint8)


PATTERN_BOXES = [  # TL, TR, BR, BL on a 160x120 pattern image
    [[10, 10], [90, 14], [88, 34], [8, 30]],      # slightly rotated line
    [[100, 20], [150, 20], [150, 40], [100, 40]],  # axis-aligned
    [[20, 50], [40, 50], [40, 115], [20, 115]],    # vertical: rotated upright
    [[60, 60], [155, 90], [150, 110], [55, 80]],   # steep skew
    [[120, 100], [159, 100], [159, 119], [120, 119]],  # touching the image edge
]


def normalise_batch(crops_bgr, indices, max_batch):
    """RapidOCR TextRecognizer batching + resize_norm_img; returns per batch dicts."""
    ratios = [c.shape[1] / float(c.shape[0]) for c in crops_bgr]
    order = np.argsort(np.array(ratios), kind="stable")
    batches = []
    for start in range(0, len(crops_bgr), max_batch):
        idx = order[start:start + max_batch]
        max_ratio = 320 / 48
        for i in idx:
            h, w = crops_bgr[i].shape[:2]
            max_ratio = max(max_ratio, w * 1.0 / h)
        width = int(48 * max_ratio)
        rows = []
        for i in idx:
            img = crops_bgr[i]
            h, w = img.shape[:2]
            ratio = w / float(h)
            rw = width if math.ceil(48 * ratio) > width else int(math.ceil(48 * ratio))
            resized = cv2.resize(img, (rw, 48)).astype("float32").transpose((2, 0, 1)) / 255
            resized -= 0.5
            resized /= 0.5
            row = np.zeros((3, 48, width), dtype=np.float32)
            row[:, :, :rw] = resized
            rows.append(row)
        tensor = np.stack(rows)
        batches.append({"indices": [indices[i] for i in idx], "width": width,
                        "sum": float(tensor.sum(dtype=np.float64)), "samples": floats(tensor.ravel()[::1009])})
    return batches


def crop_goldens():
    crops_dir = OUT / "crops"
    crops_dir.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(pattern(160, 120))
    crops = crop_lines(img, np.array(PATTERN_BOXES, dtype=np.float32))
    names = []
    for i, crop in enumerate(crops):
        name = f"pattern_{i}.png"
        assert cv2.imwrite(str(crops_dir / name), crop[:, :, ::-1])
        names.append(name)
    exact = []
    for i, crop in enumerate(crop_lines(img, np.array(PATTERN_BOXES, dtype=np.float32), exact_homography)):
        name = f"pattern_exact_{i}.png"
        assert cv2.imwrite(str(crops_dir / name), crop[:, :, ::-1])
        exact.append(name)
    bgr = [c[:, :, ::-1].copy() for c in crops]
    # Extra crops with ratios around and beyond the 320/48 minimum width.
    extra = [pattern(w, h)[:, :, ::-1].copy() for (w, h) in [(300, 40), (90, 31), (700, 50), (12, 30)]]
    all_crops = bgr + extra
    batches = {str(b): normalise_batch(all_crops, list(range(len(all_crops))), b) for b in (6, 4, 1)}
    return {"boxes": [floats(b) for b in PATTERN_BOXES], "crops": names, "exactCrops": exact,
            "extraSizes": [[300, 40], [90, 31], [700, 50], [12, 30]], "batches": batches}


def photo_crop_goldens(photos):
    """Crops of the first detected lines of scenetext01 (fast mode), as PNG."""
    crops_dir = OUT / "crops"
    entry = next(p for p in photos if p["name"] == "scenetext01.jpg")
    boxes = np.array(entry["fast"]["boxes"], dtype=np.float32).reshape(-1, 4, 2)[:4]
    img = Image.open(FIXTURES / "images" / "scenetext01.jpg").convert("RGB")
    names = []
    for i, crop in enumerate(crop_lines(img, boxes)):
        name = f"scenetext01_{i}.png"
        assert cv2.imwrite(str(crops_dir / name), crop[:, :, ::-1])
        names.append(name)
    return {"photo": "scenetext01.jpg", "boxes": floats(boxes), "crops": names}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "postprocess.json").write_text(json.dumps({"cases": postprocess_goldens()}) + "\n")
    sizes = [{"width": w, "height": h, "maxResolution": m, "expected": list(detection_size(w, h, m))}
             for (w, h, m) in SIZE_CASES]
    (OUT / "preprocess.json").write_text(json.dumps({"sizes": sizes, "crops": crop_goldens()}, indent=1) + "\n")
    photos = photo_goldens()
    (OUT / "photos.json").write_text(
        json.dumps({"detector": DETECTOR, "maxResolution": 736, "boxThresh": 0.5, "photos": photos,
                    "photoCrops": photo_crop_goldens(photos)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
