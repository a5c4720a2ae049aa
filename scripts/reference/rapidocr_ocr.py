"""OCR references from RapidOCR's own objects, at the version upstream Immich locks (3.9.2), with
upstream's parameters and upstream's own glue (re-expressed here: the detector's resize and
normalisation, the reading order, the perspective crops, the textScore filter and the
normalised boxes).

Run in the reference venv (scripts/reference/setup-venv.sh):
    .venv-reference/bin/python scripts/reference/rapidocr_ocr.py OUT_DIR DET_MODEL REC_MODEL REC_KEYS [FIXTURES_DIR]

Two variants per case, differing in two steps upstream has since rewritten:
  released  as Immich 2.x runs it: RapidOCR's `DBPostProcess` (thresh 0.3, box_thresh = minScore,
            max_candidates 1000, unclip_ratio 1.6, use_dilation, score_mode fast), whose unclip
            offsets the polygon with pyclipper (rounded joins, integer coordinates), and crop
            homographies from a float32 SVD.
  newest    the same object with `unclip` replaced by what upstream's vendored copy
            (immich_ml/models/ocr/postprocess.py, "from RapidOCR v3.4") does instead: the
            min-area rectangle grows by area * ratio / (half the perimeter) in width and height;
            crop homographies from a float32 8 x 8 solve (newest recognition.py).
Both then use upstream's own `sorted_boxes` (with its `line_ids[y_order]` lookup), crops by PIL's
PERSPECTIVE/BICUBIC transform (rotated when height/width >= 1.5), and
RapidOCR's `TextRecognizer` built as upstream builds it (OcrOptions: the ONNX session,
rec_batch_num 6, rec_img_shape (3, 48, 320); the dictionary file, as the fixture recogniser has
no `character` metadata). The scores follow their boxes through the reordering (upstream 2.x
leaves them in contour order; the service pairs each box with its own score, docs/PARITY.md).

Writes OUT_DIR/cases.json and OUT_DIR/inputs/<case>.png (the pixels both sides read).
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image
from rapidocr.ch_ppocr_det.utils import DBPostProcess
from rapidocr.ch_ppocr_rec import TextRecInput, TextRecognizer
from rapidocr.utils.typings import EngineType

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Upstream's sorted_boxes with its line_ids[y_order] lookup, as the OCR goldens restate it.
from ocr import reading_order  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ["messi5.jpg", "robin.jpg", "scenetext01.jpg", "scenetext03.jpg"]
SCALES = [1.0, 0.6]
DET_MIN_SCORES = [0.3, 0.5]
REC_MIN_SCORE = 0.5
MAX_RESOLUTION = 736


class RectGrowthDBPostProcess(DBPostProcess):
    """RapidOCR's DBPostProcess with upstream's newest unclip: grow the min-area rectangle."""

    def unclip(self, box):
        center, (width, height), angle = cv2.minAreaRect(box.astype(np.float32))
        grow = width * height * self.unclip_ratio / (width + height)
        return cv2.boxPoints((center, (width + grow, height + grow), angle)).reshape(-1, 1, 2)


class OcrOptions(dict):
    """Upstream's OcrOptions: a dict whose engine_type, lang_type and font_path RapidOCR reads as
    attributes."""

    def __init__(self, **options):
        super().__init__(**options)
        self.engine_type = EngineType.ONNXRUNTIME
        self.lang_type = None
        self.font_path = None


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def detector_input(img):
    """Upstream's TextDetector._transform: shorter side to maxResolution, never upscaling, each
    side rounded to a multiple of 32, LANCZOS, BGR, (x - 0.5) / 127.5."""
    ratio = min(float(MAX_RESOLUTION) / min(img.width, img.height), 1.0)
    h = int(round(int(img.height * ratio) / 32) * 32)
    w = int(round(int(img.width * ratio) / 32) * 32)
    resized = img.resize((w, h), resample=Image.Resampling.LANCZOS)
    bgr = cv2.cvtColor(np.array(resized, dtype=np.float32), cv2.COLOR_RGB2BGR)
    x = (bgr - np.float32(0.5)) * (np.float32(1.0) / np.float32(127.5))
    return np.expand_dims(x.transpose(2, 0, 1), 0)


def homographies(src, dst, solver):
    """Upstream's _get_perspective_transform: for each pair of quadrilaterals, PIL's 8 PERSPECTIVE
    coefficients, in float32. Immich 2.x takes the null space of the 8 x 9 system by SVD; the
    newest upstream fixes h22 = 1 and solves the 8 x 8 system, whose float32 answer is far closer
    to the exact one (the SVD's moves thousands of crop pixels by one level)."""
    n = src.shape[0]
    x, y, u, v = src[:, :, 0], src[:, :, 1], dst[:, :, 0], dst[:, :, 1]
    a = np.zeros((n, 8, 9), dtype=np.float32)
    a[:, ::2, 0], a[:, ::2, 1], a[:, ::2, 2] = x, y, 1
    a[:, ::2, 6], a[:, ::2, 7], a[:, ::2, 8] = -u * x, -u * y, -u
    a[:, 1::2, 3], a[:, 1::2, 4], a[:, 1::2, 5] = x, y, 1
    a[:, 1::2, 6], a[:, 1::2, 7], a[:, 1::2, 8] = -v * x, -v * y, -v
    if solver == "solve":
        return np.linalg.solve(a[:, :, :8], -a[:, :, 8:])[:, :, 0]
    _, _, vt = np.linalg.svd(a)
    h = vt[:, -1, :].reshape(n, 3, 3)
    h = h / h[:, 2:3, 2:3]
    return h.reshape(n, 9)[:, :8]


def crops(img, boxes, solver):
    """Upstream's get_crop_img_list / _crop: each box warped upright from the original image."""
    widths = np.maximum(np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1), np.linalg.norm(boxes[:, 2] - boxes[:, 3], axis=1)).astype(np.int32)
    heights = np.maximum(np.linalg.norm(boxes[:, 0] - boxes[:, 3], axis=1), np.linalg.norm(boxes[:, 1] - boxes[:, 2], axis=1)).astype(np.int32)
    upright = np.zeros((len(boxes), 4, 2), dtype=np.float32)
    upright[:, 1:3, 0] = widths[:, None]
    upright[:, 2:4, 1] = heights[:, None]
    out = []
    for coeffs, size in zip(homographies(upright, boxes, solver), zip(widths.tolist(), heights.tolist())):
        crop = img.transform(size=size, method=Image.Transform.PERSPECTIVE, data=coeffs.tolist(), resample=Image.Resampling.BICUBIC)
        if crop.height / crop.width >= 1.5:
            crop = crop.rotate(90, expand=True)
        out.append(cv2.cvtColor(np.array(crop), cv2.COLOR_RGB2BGR))
    return out


def ocr(img, det, postprocess, solver, recognizer):
    empty = {"text": [], "box": [], "boxScore": [], "textScore": []}
    if img.width < 32 or img.height < 32:
        return empty
    pred = det.run(None, {"x": detector_input(img)})[0]
    boxes, scores = postprocess(pred, (img.height, img.width))
    if len(boxes) == 0:
        return empty
    order = reading_order(boxes)  # a permutation, so the scores can follow their boxes
    boxes, scores = boxes[order].astype(np.float32), np.array(scores, dtype=np.float32)[order]
    rec = recognizer(TextRecInput(img=crops(img, boxes, solver)))
    text_scores = np.array(rec.scores, dtype=np.float32)
    keep = text_scores > REC_MIN_SCORE
    boxes[:, :, 0] /= img.width
    boxes[:, :, 1] /= img.height
    return {"text": [t for t, k in zip(rec.txts, keep) if k], "box": boxes.reshape(-1, 8)[keep].reshape(-1).tolist(),
            "boxScore": scores[keep].tolist(), "textScore": text_scores[keep].tolist()}


def main():
    out_dir, det_path, rec_path, keys_path = map(Path, sys.argv[1:5])
    fixtures = Path(sys.argv[5]) if len(sys.argv) > 5 else ROOT.parent / "shared" / "fixtures"
    (out_dir / "inputs").mkdir(parents=True, exist_ok=True)
    det = session(det_path)
    recognizer = TextRecognizer(OcrOptions(session=session(rec_path), rec_batch_num=6, rec_img_shape=(3, 48, 320),
                                           rec_keys_path=str(keys_path)))
    params = dict(thresh=0.3, max_candidates=1000, unclip_ratio=1.6, use_dilation=True, score_mode="fast")
    cases = []
    for photo in PHOTOS:
        original = Image.open(fixtures / "images" / photo).convert("RGB")
        for scale in SCALES:
            img = original if scale == 1.0 else original.resize((round(original.width * scale), round(original.height * scale)), Image.Resampling.LANCZOS)
            name = f"{Path(photo).stem}@{scale}"
            img.save(out_dir / "inputs" / f"{name}.png")
            for det_min in DET_MIN_SCORES:
                variants = {"released": (DBPostProcess(box_thresh=det_min, **params), "svd"),
                            "newest": (RectGrowthDBPostProcess(box_thresh=det_min, **params), "solve")}
                cases.append({"name": name, "input": f"inputs/{name}.png", "detMinScore": det_min, "recMinScore": REC_MIN_SCORE,
                              **{k: ocr(img, det, p, solver, recognizer) for k, (p, solver) in variants.items()}})
    (out_dir / "cases.json").write_text(json.dumps(cases, ensure_ascii=False))
    print(f"RapidOCR 3.9.2: {len(cases)} cases, {sum(len(c['newest']['text']) for c in cases)} lines")


if __name__ == "__main__":
    main()
