#!/usr/bin/python3
"""Golden data for CLIP's visual pre-processing (test/tasks/clip/visual-preprocess.test.ts).

Run with Debian's interpreter (Pillow 9.4, numpy):  /usr/bin/python3 scripts/reference/clip_preprocess.py

The transform is upstream Immich's legacy one (immich_ml/models/transforms.py + clip/visual.py),
restated here: decode with PIL and convert("RGB"), resize the shorter side to `size` with BICUBIC,
centre-crop, /255, (x - mean) / std in float32, HWC -> CHW.

Writes into test/golden/clip/:
  inputs/<name>.png     synthetic edge-case inputs (the fixture photos are read from
                        ../shared/fixtures/images and never copied)
  expected/<name>.png   PIL's resized + cropped size x size RGB image (lossless)
  manifest.json         per case: input, decoded size, resized size, crop box, mean/std, and the
                        sha256 of PIL's decoded RGB bytes and of numpy's float32 NCHW tensor
"""
import hashlib
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "golden" / "clip"
FIXTURES = ROOT.parent / "shared" / "fixtures"
CFG = json.loads((FIXTURES / "clip-config" / "preprocess_cfg.json").read_text())
SIZE = CFG["size"][0] if isinstance(CFG["size"], list) else CFG["size"]
MEAN = np.array(CFG["mean"], dtype=np.float32)
STD = np.array(CFG["std"], dtype=np.float32)
# A second, non-OpenAI normalisation and size, as SigLIP-style configs use.
ALT = {"size": 256, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}

PHOTOS = ["messi5", "robin", "scenetext01", "scenetext03"]


def synth_rgb(width, height, seed):
    """Smooth gradients and a few solid rectangles (hard edges that make bicubic ring and clip).
    Only tiny images get noise: it does not compress, and resampling noise is covered by the
    resampler's own goldens."""
    rng = random.Random(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([
        255 * x / max(1, width - 1),
        255 * y / max(1, height - 1),
        127.5 + 127.5 * np.sin((x + 2 * y) / max(3.0, (width + height) / 12)),
    ], axis=-1)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        w, h = rng.randint(1, max(1, width // 3)), rng.randint(1, max(1, height // 3))
        img[y0:y0 + h, x0:x0 + w] = [rng.choice((0, 255)), rng.randrange(256), rng.choice((0, 255))]
    if width * height <= 64:
        img += np.random.default_rng(seed).integers(-40, 41, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_inputs():
    """(name, PIL image to save as PNG). Modes other than RGB exercise convert("RGB")."""
    cases = [
        ("tiny_1x1", Image.fromarray(np.array([[[200, 30, 90]]], dtype=np.uint8))),
        ("tiny_3x7", Image.fromarray(synth_rgb(3, 7, 1))),
        ("near_223x225", Image.fromarray(synth_rgb(223, 225, 2))),
        ("exact_224x224", Image.fromarray(synth_rgb(224, 224, 3))),
        ("wide_2000x10", Image.fromarray(synth_rgb(2000, 10, 4))),
        ("tall_10x1500", Image.fromarray(synth_rgb(10, 1500, 5))),
        ("odd_301x157", Image.fromarray(synth_rgb(301, 157, 6))),
        ("odd_157x301", Image.fromarray(synth_rgb(157, 301, 7))),
        ("square_odd_225x225", Image.fromarray(synth_rgb(225, 225, 8))),
        ("grey_L_97x131", Image.fromarray(synth_rgb(97, 131, 9)[:, :, 0], mode="L")),
    ]
    rgba = np.dstack([synth_rgb(150, 120, 10), np.random.default_rng(11).integers(0, 256, (120, 150), dtype=np.uint8)])
    cases.append(("rgba_150x120", Image.fromarray(rgba, mode="RGBA")))
    cases.append(("palette_140x90", Image.fromarray(synth_rgb(140, 90, 12)).quantize(colors=64)))
    return cases


def preprocess(img, size, mean, std):
    """Upstream resize_pil + crop_pil + to_numpy + normalize, returning every intermediate."""
    if img.width < img.height:
        resized = img.resize((size, int((img.height / img.width) * size)), resample=Image.BICUBIC)
    else:
        resized = img.resize((int((img.width / img.height) * size), size), resample=Image.BICUBIC)
    left = int((resized.size[0] / 2) - (size / 2))
    upper = int((resized.size[1] / 2) - (size / 2))
    crop = resized.crop((left, upper, left + size, upper + size))
    arr = np.asarray(crop, dtype=np.float32) / 255.0
    arr = (arr - mean) / std
    tensor = np.ascontiguousarray(arr.transpose(2, 0, 1)[None])
    assert tensor.dtype == np.float32
    return resized.size, (left, upper), crop, tensor


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def add_case(manifest, name, input_ref, path, size, mean, std):
    decoded = Image.open(path)
    decoded.load()
    if decoded.mode != "RGB":
        decoded = decoded.convert("RGB")
    resized, origin, crop, tensor = preprocess(decoded, size, np.array(mean, dtype=np.float32), np.array(std, dtype=np.float32))
    expected = f"expected/{name}.png"
    crop.save(OUT / expected, optimize=True)
    manifest.append({
        "name": name,
        "input": input_ref,
        "decoded": [decoded.width, decoded.height],
        "decodedSha256": sha256(decoded.tobytes()),
        "resized": list(resized),
        "cropOrigin": list(origin),
        "size": size,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "expected": expected,
        # float32, little-endian, NCHW: lets the test demand a bit-identical tensor.
        "tensorSha256": sha256(tensor.astype("<f4").tobytes()),
    })


def main():
    (OUT / "inputs").mkdir(parents=True, exist_ok=True)
    (OUT / "expected").mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, image in synthetic_inputs():
        rel = f"inputs/{name}.png"
        image.save(OUT / rel, optimize=True)
        add_case(manifest, name, rel, OUT / rel, SIZE, CFG["mean"], CFG["std"])
    add_case(manifest, "odd_301x157_alt", "inputs/odd_301x157.png", OUT / "inputs/odd_301x157.png", ALT["size"], ALT["mean"], ALT["std"])
    for photo in PHOTOS:
        ref = f"fixture:images/{photo}.jpg"
        add_case(manifest, photo, ref, FIXTURES / "images" / f"{photo}.jpg", SIZE, CFG["mean"], CFG["std"])
    text = "[\n" + ",\n".join(" " + json.dumps(case) for case in manifest) + "\n]\n"
    (OUT / "manifest.json").write_text(text)
    print(f"{len(manifest)} cases")


if __name__ == "__main__":
    main()
