"""Face detection and recognition references from insightface's own objects, as upstream Immich
calls them (immich_ml/models/facial_recognition/{detection,recognition}.py; read, not copied):
RetinaFace(session).prepare(ctx_id=0, det_thresh=min_score, input_size=(640, 640)) and detect();
boxes rounded; norm_crop(bgr, landmarks) per face; ArcFaceONNX.get_feat on each crop.

Run inside the reference venv:
    .venv-reference/bin/python scripts/reference/insightface_faces.py OUT_DIR [FIXTURES_DIR]

Writes OUT_DIR/images/*.png (the inputs: the fixture photos re-encoded losslessly, at several
scales and as a collage, so the service and insightface see the same pixels whatever their JPEG
decoders do) and OUT_DIR/faces.json: per (detector, image, minScore) the boxes, scores,
landmarks and embeddings. The fixture face embedder has a fixed batch axis of 1, so crops are
embedded one by one (upstream rewrites the axis to dynamic and runs them together: the same
numbers).
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.model_zoo.retinaface import RetinaFace
from insightface.model_zoo.scrfd import SCRFD
from insightface.utils.face_align import norm_crop
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
# The batched-output export cannot go through RetinaFace (upstream's class has no branch for a
# batch axis on outputs and fails on it); insightface's SCRFD class, same decoding plus that
# branch, is its reference.
DETECTORS = {
    "buffalo_m": ("scrfd_2.5g.onnx", RetinaFace),
    "buffalo_s": ("scrfd_500m.onnx", RetinaFace),
    "buffalo_l": ("scrfd_500m_bnkps.onnx", SCRFD),
}
RECOGNIZER = "face_embedding_512.onnx"
PHOTOS = ["messi5.jpg", "scenetext01.jpg", "scenetext03.jpg", "robin.jpg"]
MIN_SCORES = [0.4, 0.7]
SCALES = [1.0, 0.5, 1.7]


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def inputs(fixtures, out_dir):
    """Lossless PNG inputs: every photo at a few scales (PIL bicubic), and a 2x2 collage."""
    folder = out_dir / "images"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    photos = {name: Image.open(fixtures / "images" / name).convert("RGB") for name in PHOTOS}
    for name, photo in photos.items():
        for scale in SCALES:
            size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
            image = photo if scale == 1.0 else photo.resize(size, Image.BICUBIC)
            file = f"{Path(name).stem}@{scale}.png"
            image.save(folder / file)
            names.append(file)
    messi = photos["messi5.jpg"]
    collage = Image.new("RGB", (messi.width * 2, messi.height * 2))
    for left, top in [(0, 0), (messi.width, 0), (0, messi.height)]:
        collage.paste(messi, (left, top))
    collage.save(folder / "collage.png")
    names.append("collage.png")
    return names


def main():
    out_dir = Path(sys.argv[1])
    fixtures = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "fixtures"
    images = inputs(fixtures, out_dir)
    recognizer = ArcFaceONNX(model_file=str(fixtures / "models" / RECOGNIZER), session=session(fixtures / "models" / RECOGNIZER))
    cases = []
    for model_name, (detector_file, detector_class) in DETECTORS.items():
        detector = detector_class(session=session(fixtures / "models" / detector_file))
        for min_score in MIN_SCORES:
            detector.prepare(ctx_id=0, det_thresh=min_score, input_size=(640, 640))
            for image_name in images:
                # Upstream decodes with PIL and hands insightface a BGR array.
                bgr = cv2.cvtColor(np.asarray(Image.open(out_dir / "images" / image_name).convert("RGB")), cv2.COLOR_RGB2BGR)
                det, landmarks = detector.detect(bgr)
                faces = []
                for row, points in zip(det, landmarks):
                    crop = norm_crop(bgr, points)
                    embedding = recognizer.get_feat([crop])[0]
                    faces.append({
                        "box": [float(v) for v in row[:4].round()],
                        "score": float(row[4]),
                        "landmarks": [float(v) for v in points.reshape(-1)],
                        "embedding": [float(v) for v in embedding],
                    })
                cases.append({"model": model_name, "detector": f"{detector_file} ({detector_class.__name__})", "image": image_name, "minScore": min_score, "faces": faces})
    (out_dir / "faces.json").write_text(json.dumps({"cases": cases}))
    print(f"insightface: {len(cases)} cases, {sum(len(c['faces']) for c in cases)} faces")


if __name__ == "__main__":
    main()
