"""The tokenizer.json files tokenizer_families.py trained once and committed
(test/golden/tokenizers/trained-tokenizers.json.gz), and upstream's text cleaning. Shared by the
tokenizer references and the CLIP exporter; imports nothing outside the standard library, so
both venvs can use it."""
import gzip
import json
import string
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAINED_BUNDLE = ROOT / "test" / "golden" / "tokenizers" / "trained-tokenizers.json.gz"
# The SentencePiece table the families share is stored once, under "charsmap"; each
# tokenizer.json holds this placeholder in its place.
CHARSMAP_PLACEHOLDER = "@precompiled_charsmap"


def replace_value(node, old, new):
    if isinstance(node, dict):
        return {k: replace_value(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [replace_value(v, old, new) for v in node]
    return new if node == old else node


def load_bundle():
    return json.loads(gzip.decompress(TRAINED_BUNDLE.read_bytes()))


def trained_family(family, bundle):
    """tokenizer.json, tokenizer_config.json, config.json and the special-token strings."""
    entry = bundle["families"][family]
    spec = replace_value(entry["tokenizer.json"], CHARSMAP_PLACEHOLDER, bundle["charsmap"])
    return spec, entry["tokenizer_config.json"], entry["config.json"], entry["specials"]


def clean_text(text, canonicalize):
    """Upstream's tokenize: whitespace runs folded; SigLIP2's canonicalisation drops ASCII
    punctuation and lower-cases."""
    text = " ".join(text.split())
    if canonicalize:
        text = text.translate(str.maketrans("", "", string.punctuation)).lower()
    return text
