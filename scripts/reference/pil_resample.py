#!/usr/bin/python3
"""Golden outputs of Pillow's Image.resize (8-bit RGB) for test/imaging/pil-resample.test.ts.

Run with Debian's interpreter (Pillow 9.4):  /usr/bin/python3 scripts/reference/pil_resample.py

Inputs are not stored: both this script and the TypeScript test synthesise them from a seed with
the same xorshift32 generator, so only the (small) outputs are committed:
  test/golden/pil-resample/manifest.json   one entry per case, with the sha256 of PIL's output
  test/golden/pil-resample/outputs.bin.gz  all outputs' raw RGB bytes, concatenated in order
"""
import gzip
import hashlib
import json
from pathlib import Path

from PIL import Image

OUT_DIR = Path(__file__).resolve().parents[2] / "test" / "golden" / "pil-resample"
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}


def xorshift32(seed):
    state = seed & 0xFFFFFFFF or 1
    while True:
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        yield state


def synth(kind, width, height, seed):
    """RGB bytes; must stay in lock-step with synthImage() in the TypeScript test."""
    rnd = xorshift32(seed)
    out = bytearray(width * height * 3)
    if kind == "noise":
        # Full-range noise: the worst case for rounding and for bicubic/lanczos overshoot clipping.
        for i in range(len(out)):
            out[i] = next(rnd) & 255
    elif kind == "blocks":
        # Saturated 4x4 blocks of 0/255: hard edges that ring and clip.
        block_w = (width + 3) // 4
        colours = [next(rnd) for _ in range(block_w * ((height + 3) // 4))]
        for y in range(height):
            for x in range(width):
                c = colours[(y // 4) * block_w + x // 4]
                for ch in range(3):
                    out[(y * width + x) * 3 + ch] = 255 if (c >> ch) & 1 else 0
    elif kind == "gradient":
        # Smooth ramps with +-3 noise: photo-like content.
        for y in range(height):
            for x in range(width):
                base = (x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) * 255 // max(1, width + height - 2))
                for ch in range(3):
                    v = base[ch] + (next(rnd) % 7) - 3
                    out[(y * width + x) * 3 + ch] = min(255, max(0, v))
    else:
        raise ValueError(kind)
    return bytes(out)


# (kind, input w, h, output w, h): down, up, one axis only, identity, 1-pixel and extreme sizes.
CASES = [
    ("noise", 64, 48, 17, 13),
    ("noise", 23, 17, 61, 45),
    ("noise", 40, 30, 40, 11),
    ("noise", 40, 30, 13, 30),
    ("noise", 40, 30, 40, 30),
    ("noise", 40, 30, 41, 29),
    ("blocks", 50, 50, 23, 77),
    ("blocks", 37, 29, 224, 175),
    ("noise", 1, 1, 9, 5),
    ("noise", 1, 17, 5, 3),
    ("noise", 17, 1, 3, 6),
    ("noise", 31, 1, 1, 1),
    ("noise", 1, 31, 1, 2),
    ("noise", 300, 2, 37, 5),
    ("noise", 2, 300, 5, 37),
    ("noise", 1000, 3, 13, 1),
    ("noise", 500, 400, 7, 5),
    ("noise", 9, 7, 2, 1),
    ("gradient", 97, 61, 224, 140),
    ("gradient", 400, 300, 298, 224),
    ("noise", 151, 103, 112, 76),
    ("noise", 720, 540, 149, 112),
]


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    manifest = {"pillow": Image.__version__, "generator": "xorshift32", "cases": []}
    blob = bytearray()
    for index, (kind, iw, ih, ow, oh) in enumerate(CASES):
        seed = 0x9E3779B9 ^ (index * 7919 + 1)
        src = Image.frombytes("RGB", (iw, ih), synth(kind, iw, ih, seed))
        for name, flt in FILTERS.items():
            out = src.resize((ow, oh), flt).tobytes()
            manifest["cases"].append({
                "kind": kind, "seed": seed, "input": [iw, ih], "output": [ow, oh], "filter": name,
                "offset": len(blob), "sha256": hashlib.sha256(out).hexdigest(),
            })
            blob += out
    # One case per line keeps diffs of regenerated goldens readable.
    cases = ",\n  ".join(json.dumps(case) for case in manifest["cases"])
    header = json.dumps({k: v for k, v in manifest.items() if k != "cases"})[:-1]
    (OUT_DIR / "manifest.json").write_text(f'{header}, "cases": [\n  {cases}\n]}}\n')
    # mtime=0 keeps the committed file byte-stable across runs.
    with open(OUT_DIR / "outputs.bin.gz", "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(bytes(blob))
    print(f"{len(manifest['cases'])} cases, {len(blob)} output bytes")


if __name__ == "__main__":
    main()
