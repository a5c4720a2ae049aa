#!/usr/bin/python3
"""Golden values for the face pipeline and the OpenCV-exact image ops it relies on.

An independent reference for the TypeScript port, built from the same libraries upstream Immich
runs through insightface: cv2 (resize, warpAffine, blobFromImage, dnn), numpy and scikit-image
(SimilarityTransform). It mirrors insightface's RetinaFace.detect / norm_crop behaviour as
described in the contract spec (sections 2.4 and 2.5), including where insightface computes in
float32.

Run with Debian's interpreter (it has cv2 4.6 with dnn, onnx, skimage):
    /usr/bin/python3 scripts/reference/faces.py [fixtures_dir]
Writes test/golden/faces/{cv.json, cv/*.png, faces.json, crops/*.png}.
The fixture photos and models are read from ../shared/fixtures and never copied.
"""
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
from skimage.transform import SimilarityTransform

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "fixtures"
OUT = ROOT / "test" / "golden" / "faces"

INPUT_SIZE = 640
NMS_THRESH = 0.4
MIN_SCORE = 0.4  # low enough for the one small face in scenetext03.jpg (score 0.42)
ARCFACE_TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
ARCFACE_DST = np.array(ARCFACE_TEMPLATE, dtype=np.float32)  # insightface keeps its template in float32
MODELS = ["scrfd_2.5g.onnx", "scrfd_500m.onnx", "scrfd_500m_bnkps.onnx"]
PHOTOS = ["messi5.jpg", "scenetext01.jpg", "scenetext03.jpg", "robin.jpg"]
CROP_MODEL = "scrfd_2.5g.onnx"


# ---------------------------------------------------------------- synthetic images (cv ops)

def synthetic(width, height, seed):
    """Deterministic noise; test/imaging/cv/synthetic.ts computes the same bytes (RGB order)."""
    i = np.arange(width * height * 3, dtype=np.uint64)
    h = (i * np.uint64(0x9E3779B1) + np.uint64(seed)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    return (h & np.uint64(0xFF)).astype(np.uint8).reshape(height, width, 3)


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))


RESIZE_CASES = [
    # name, src w, src h, seed, dst w, dst h
    ("up", 31, 23, 1, 67, 41),
    ("down", 67, 41, 2, 31, 23),
    ("half", 64, 48, 3, 32, 24),  # exact 2:1 -> OpenCV switches to fast INTER_AREA
    ("third", 60, 40, 4, 20, 10),  # integer but not 2:1 -> stays bilinear
    ("mixed", 45, 33, 5, 90, 14),
    ("thin", 1, 5, 6, 4, 3),
    ("enlarge", 12, 9, 7, 160, 119),  # large upscale, like small photos onto the 640 canvas
]


def rotation(angle_deg, scale, tx, ty):
    a = np.deg2rad(angle_deg)
    return [scale * np.cos(a), -scale * np.sin(a), tx, scale * np.sin(a), scale * np.cos(a), ty]


WARP_CASES = [
    # name, src w, src h, seed, matrix (src -> dst), dst w, dst h
    ("shift", 40, 30, 11, [1.0, 0.0, 3.37, 0.0, 1.0, -2.81], 40, 30),
    ("rotate", 50, 40, 12, rotation(17.3, 1.21, 5.5, -9.25), 56, 48),
    ("shrink", 64, 64, 13, rotation(-33.0, 0.47, 20.1, 18.6), 48, 40),
    ("shear", 37, 29, 14, [0.8, 0.35, 2.0, -0.2, 1.3, 4.4], 45, 52),
    ("outside", 30, 30, 15, rotation(5.0, 1.0, 22.0, 25.0), 40, 40),  # mostly border
    ("flip", 33, 21, 16, [-1.0, 0.0, 32.0, 0.0, 1.0, 0.0], 33, 21),
]


def cv_goldens():
    resize, warp = [], []
    for name, sw, sh, seed, dw, dh in RESIZE_CASES:
        out = cv2.resize(synthetic(sw, sh, seed), (dw, dh))
        write_png(OUT / "cv" / f"resize_{name}.png", out)
        resize.append({"name": name, "src": [sw, sh, seed], "size": [dw, dh], "png": f"cv/resize_{name}.png"})
    for name, sw, sh, seed, m, dw, dh in WARP_CASES:
        matrix = np.array(m, dtype=np.float64).reshape(2, 3)
        out = cv2.warpAffine(synthetic(sw, sh, seed), matrix, (dw, dh), borderValue=0.0)
        write_png(OUT / "cv" / f"warp_{name}.png", out)
        warp.append({"name": name, "src": [sw, sh, seed], "matrix": [float(v) for v in matrix.ravel()],
                     "size": [dw, dh], "png": f"cv/warp_{name}.png"})
    (OUT / "cv.json").write_text(json.dumps({"resize": resize, "warp": warp}, indent=1) + "\n")


# ---------------------------------------------------------------- face detection (SCRFD)

def load_detector(model_path):
    """cv2.dnn cannot import SCRFD's Shape ops with a dynamic input: pin the input to 640x640."""
    model = onnx.load(str(model_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = INPUT_SIZE
    dims[3].dim_value = INPUT_SIZE
    net = cv2.dnn.readNetFromONNX(np.frombuffer(model.SerializeToString(), np.uint8))
    return net, [o.name for o in model.graph.output]


def letterbox(bgr):
    h, w = bgr.shape[:2]
    im_ratio = float(h) / w
    if im_ratio > 1.0:
        new_h = INPUT_SIZE
        new_w = int(new_h / im_ratio)
    else:
        new_w = INPUT_SIZE
        new_h = int(new_w * im_ratio)
    det_scale = float(new_h) / h
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(bgr, (new_w, new_h))
    return canvas, det_scale


def detect(net, output_names, bgr, threshold):
    canvas, det_scale = letterbox(bgr)
    blob = cv2.dnn.blobFromImage(canvas, 1.0 / 128, (INPUT_SIZE, INPUT_SIZE), (127.5, 127.5, 127.5), swapRB=True)
    net.setInput(blob)
    outs = net.forward(output_names)
    # Fixture models list outputs as scores x3, boxes x3, keypoints x3 (strides 8, 16, 32),
    # batched ([1, N, k]) or not ([N, k]); insightface takes them by position.
    outs = [o[0] if o.ndim == 3 else o for o in outs]
    fmc = 3
    scores_l, boxes_l, kps_l = [], [], []
    for level, stride in enumerate([8, 16, 32]):
        scores = outs[level]
        dist = outs[level + fmc] * stride
        offs = outs[level + 2 * fmc] * stride
        cells = INPUT_SIZE // stride
        centers = np.stack(np.mgrid[:cells, :cells][::-1], axis=-1).astype(np.float32)
        centers = np.repeat((centers * stride).reshape(-1, 2), 2, axis=0)  # 2 anchors per cell
        keep = np.where(scores >= threshold)[0]
        boxes = np.stack([centers[:, 0] - dist[:, 0], centers[:, 1] - dist[:, 1],
                          centers[:, 0] + dist[:, 2], centers[:, 1] + dist[:, 3]], axis=-1)
        kps = np.stack([centers[:, i % 2] + offs[:, i] for i in range(10)], axis=-1)
        scores_l.append(scores[keep])
        boxes_l.append(boxes[keep])
        kps_l.append(kps[keep])
    scores = np.vstack(scores_l).ravel()
    boxes = np.vstack(boxes_l) / det_scale
    kps = (np.vstack(kps_l) / det_scale).reshape(-1, 5, 2)
    order = scores.argsort()[::-1]
    det = np.hstack((boxes, scores[:, None])).astype(np.float32, copy=False)[order]
    keep = nms(det)
    return det[keep], kps[order][keep], canvas, det_scale


def nms(det):
    x1, y1, x2, y2, s = det[:, 0], det[:, 1], det[:, 2], det[:, 3], det[:, 4]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = s.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[np.where(iou <= NMS_THRESH)[0]]
    return keep


# ---------------------------------------------------------------- alignment (norm_crop)

def similarity(src, dst):
    tform = SimilarityTransform()
    tform.estimate(src, dst)
    return tform.params[0:2, :]


def norm_crop(bgr, landmarks):
    """insightface.utils.face_align.norm_crop for 112x112 ArcFace crops.

    insightface hands float32 landmarks and a float32 template to scikit-image, whose Umeyama
    estimate (0.19) then runs in float32: the matrix is off from the exact least-squares one by
    ~1e-4 px, which flips a few 1/32-pixel interpolation steps in the warp.
    """
    matrix = similarity(landmarks, ARCFACE_DST)
    return cv2.warpAffine(bgr, matrix, (112, 112), borderValue=0.0), matrix


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def face_goldens():
    cases = []
    crops_dir = OUT / "crops"
    for model in MODELS:
        net, names = load_detector(FIXTURES / "models" / model)
        for photo in PHOTOS:
            bgr = cv2.imread(str(FIXTURES / "images" / photo))
            det, kps, canvas, det_scale = detect(net, names, bgr, MIN_SCORE)
            faces = []
            for n in range(det.shape[0]):
                face = {"box": floats(det[n, :4].round()), "score": float(det[n, 4]), "landmarks": floats(kps[n])}
                if model == CROP_MODEL:
                    crop, matrix = norm_crop(bgr, kps[n])
                    name = f"crops/{Path(photo).stem}_{n}.png"
                    crops_dir.mkdir(parents=True, exist_ok=True)
                    assert cv2.imwrite(str(OUT / name), crop)  # BGR array -> PNG in true colours
                    face["crop"] = name
                    face["cropMatrix"] = [float(v) for v in matrix.ravel()]
                    # the same estimate in float64: the exact optimum the port computes
                    exact = similarity(kps[n].astype(np.float64), np.array(ARCFACE_TEMPLATE, dtype=np.float64))
                    face["cropMatrixF64"] = [float(v) for v in exact.ravel()]
                faces.append(face)
            cases.append({
                "model": model, "image": photo, "size": [bgr.shape[1], bgr.shape[0]], "detScale": det_scale,
                # sha256 of the RGB 640x640 letterboxed canvas the detector sees
                "canvasSha256": hashlib.sha256(np.ascontiguousarray(canvas[:, :, ::-1]).tobytes()).hexdigest(),
                "faces": faces,
            })
            print(f"{model:24s} {photo:16s} {len(faces)} face(s)", [round(f['score'], 3) for f in faces])
    (OUT / "faces.json").write_text(json.dumps({"minScore": MIN_SCORE, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    cv_goldens()
    face_goldens()
