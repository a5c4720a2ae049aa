"""Golden bytes for embedding strings: what upstream's orjson (version pinned in requirements.txt)
prints for numpy float32 arrays, `orjson.dumps(array, option=OPT_SERIALIZE_NUMPY)`.

Run inside the reference venv:
    .venv-reference/bin/python scripts/reference/orjson_floats.py OUT.json [FULL_TEXT_OUT]

The values are shared with test/http/orjson-floats.test.ts without storing them: both sides draw
them from the same xorshift32 stream (`draw`), half as raw bit patterns (every exponent, NaN and
infinities included), half with exponents near zero, where embeddings live and where the
notation switches. OUT.json keeps the sha256 of every chunk of CHUNK values (so a mismatch is
located to a chunk), plus the full text of a curated edge-case list (denormals, ±0, powers of
ten and their neighbours one ulp away). FULL_TEXT_OUT, when given, receives the whole text, for
the live comparison that quotes the first differing value.
"""
import hashlib
import json
import sys

import numpy as np
import orjson

SEED = 0x13579BDF
COUNT = 100_000
CHUNK = 1000


def xorshift32(state):
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def draw(count):
    """Float32 bit patterns: even indices raw, odd ones with a biased exponent in [90, 180)."""
    bits = np.empty(count, dtype=np.uint32)
    state = SEED
    for i in range(count):
        state = xorshift32(state)
        value = state
        if i % 2 == 1:
            state = xorshift32(state)
            value = (value & 0x807FFFFF) | ((90 + state % 90) << 23)
        bits[i] = value
    return bits.view(np.float32)


def edge_cases():
    values = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf]
    f32 = np.float32
    values += [np.finfo(f32).tiny, np.finfo(f32).max, -np.finfo(f32).max, np.nextafter(f32(0), f32(1))]
    values += list(np.arange(1, 200, 7, dtype=np.uint32).view(f32))  # denormals
    values += list((np.arange(1, 50, dtype=np.uint32) * 0x1FFFF).view(f32))
    with np.errstate(over="ignore"):  # 9.999999e38 overflows to inf, a case of its own
        for exponent in range(-45, 39):
            p = f32(10.0 ** exponent)
            for v in (p, np.nextafter(p, f32(0)), np.nextafter(p, f32(np.inf)), f32(p * 1.5), f32(p * 9.999999)):
                values += [v, -v]
    return np.array(values, dtype=f32)


def dumps(array):
    return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def main():
    values = draw(COUNT)
    chunks = [dumps(values[i:i + CHUNK]) for i in range(0, COUNT, CHUNK)]
    edges = edge_cases()
    golden = {
        "orjson": orjson.__version__,
        "seed": SEED,
        "count": COUNT,
        "chunk": CHUNK,
        "chunkSha256": [hashlib.sha256(c.encode()).hexdigest() for c in chunks],
        "edgeBits": [int(b) for b in edges.view(np.uint32)],
        "edgeText": dumps(edges),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(golden, f, indent=0)
        f.write("\n")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("\n".join(chunks) + "\n")
    print(f"orjson {orjson.__version__}: {COUNT} drawn values + {len(edges)} edge cases")


if __name__ == "__main__":
    main()
