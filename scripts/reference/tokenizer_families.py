"""Reference token ids for every tokenizer family upstream Immich serves, from the Rust
`tokenizers` library upstream itself runs (Python bindings, version pinned in requirements.txt).

Run inside the reference venv (scripts/reference/setup-venv.sh):
    .venv-reference/bin/python scripts/reference/tokenizer_families.py OUT_DIR [CASES_PER_FAMILY] [--train] [--golden]

The trained tokenizers are committed (test/golden/tokenizers/trained-tokenizers.json.gz; --train
retrains them, see `train_all`). --golden rewrites the committed case goldens
test/golden/tokenizers/<family>.json.gz for GOLDEN_FAMILIES (the first GOLDEN_CASES short cases,
a few long ones, and every case in test/parity/known-tokenizer-differences.json); together they
cover every component (Precompiled, Metaspace, Unigram, BERT, WordPiece, BPE with byte fallback).

For each family it writes OUT_DIR/<family>/ with:
  tokenizer.json         the real CLIP file (fixture), or one trained on a generated
                         multilingual corpus with that family's components (see FAMILIES)
  tokenizer_config.json  pad_token, as Immich ships it in textual/
  config.json            open_clip's text_cfg (context_length, tokenizer_kwargs)
  cases.jsonl            one line per string: {"text", "ids", "mask"}; ids and mask are what
                         upstream's OpenClipTextualEncoder.tokenize feeds the model

Upstream's tokenize, restated (immich_ml/models/clip/textual.py; read, not copied):
  text = " ".join(text.split()); for clean == "canonicalize" also drop string.punctuation and
  str.lower(); tokenizer = Tokenizer.from_file(...); enable_padding(length=context_length,
  pad_token=pad, pad_id=token_to_id(pad)); enable_truncation(max_length=context_length);
  ids = encode(text).ids. NLLB's FLORES prefix is glued on by the caller and is covered here by
  strings that start with every code the service can produce.

The trained vocabularies are small (a few thousand pieces), which makes rare paths frequent:
unknown pieces, byte fallback, long words split to single characters.
"""
import base64
import gzip
import json
import random
import re
import string
import sys
import tempfile
import unicodedata
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from trained_tokenizers import CHARSMAP_PLACEHOLDER, TRAINED_BUNDLE, clean_text, load_bundle, replace_value, trained_family
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures"
FLORES_SOURCE = ROOT / "src" / "tasks" / "clip" / "flores.ts"
GOLDEN_DIR = ROOT / "test" / "golden" / "tokenizers"
KNOWN_DIFFERENCES = ROOT / "test" / "parity" / "known-tokenizer-differences.json"
GOLDEN_FAMILIES = ["clip", "xlm-roberta", "labse", "gemma"]
GOLDEN_CASES = 300
LONG_GOLDEN_CASES = 6

# ------------------------------------------------------------------ corpus and test strings

# (first, last) code points of the scripts the corpus and the cases draw letters from.
SCRIPTS = {
    "latin": [(0x61, 0x7A), (0x41, 0x5A), (0xC0, 0xFF), (0x100, 0x17F)],
    "cyrillic": [(0x410, 0x44F)],
    "greek": [(0x391, 0x3A9), (0x3B1, 0x3C9)],
    "arabic": [(0x621, 0x64A)],
    "hebrew": [(0x5D0, 0x5EA)],
    "devanagari": [(0x905, 0x939), (0x93E, 0x94C)],
    "thai": [(0xE01, 0xE2E), (0xE30, 0xE39)],
    "hangul": [(0xAC00, 0xD7A3)],
    "kana": [(0x3041, 0x3096), (0x30A1, 0x30FA)],
    "cjk": [(0x4E00, 0x9FFF)],
    "armenian": [(0x531, 0x556), (0x561, 0x586)],
    "tamil": [(0xB85, 0xB94), (0xB95, 0xBB9)],
}
# The corpus draws CJK and Hangul from their first 600 code points only: the trained vocabularies
# then cover them, and the cases (full ranges) still meet characters no vocabulary has.
CORPUS_SCRIPTS = {**SCRIPTS, "hangul": [(0xAC00, 0xAE57)], "cjk": [(0x4E00, 0x5057)]}
COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u0651", "\u064b", "\u05b4", "\u093c", "\u20dd"]
EMOJI = [
    "😀", "🐱", "🏳️‍🌈", "👩‍👩‍👧‍👦", "👍🏽", "🇩🇪", "🇯🇵", "❤️", "🧑🏿‍🚀", "1️⃣", "🫠", "🦄", "©", "™", "☕",
]
CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, 0x85, 0xA0, 0xAD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
                             0x2028, 0x2029, 0x202E, 0x2060, 0xFEFF, 0x3000, 0xFFFD, 0xE000, 0x1680]]
PUNCTUATION = list(string.punctuation) + ["«", "»", "“", "”", "…", "—", "¿", "¡", "、", "。", "！", "？", "٫", "؟"]
CASE_TRAPS = ["ΟΔΟΣ", "Σ", "İstanbul", "straße", "STRASSE", "ǅ", "ﬁ", "Ⅻ", "½", "①", "ｶﾀｶﾅ", "ＡＢＣ", "㍿", "ŉ"]


def letter(rng, script, table=SCRIPTS):
    lo, hi = rng.choice(table[script])
    return chr(rng.randint(lo, hi))


def word(rng, script, length=None, table=SCRIPTS):
    return "".join(letter(rng, script, table) for _ in range(length or rng.randint(1, 9)))


def sentence(rng, script=None, table=SCRIPTS):
    script = script or rng.choice(list(table))
    sep = "" if script in ("cjk", "kana", "thai") and rng.random() < 0.7 else " "
    return sep.join(word(rng, script, table=table) for _ in range(rng.randint(2, 12)))


def corpus(rng, lines=6000):
    out = []
    for _ in range(lines):
        text = sentence(rng, table=CORPUS_SCRIPTS)
        if rng.random() < 0.3:
            text += " " + rng.choice(PUNCTUATION) + " " + str(rng.randint(0, 10**rng.randint(1, 6)))
        if rng.random() < 0.2:
            text = text.capitalize()
        out.append(text)
    return out


def flores_codes():
    """The FLORES-200 codes the service can prefix (an input list, read from its locale table)."""
    return sorted(set(re.findall(r'"([a-z]{3}_[A-Z][a-z]{3})"', FLORES_SOURCE.read_text())))


def mixed(rng):
    """One string from a random mix of the hard classes."""
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.35:
            parts.append(word(rng, rng.choice(list(SCRIPTS))))
        elif kind < 0.45:
            parts.append(word(rng, rng.choice(list(SCRIPTS)), 2) + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3))))
        elif kind < 0.55:
            parts.append(rng.choice(EMOJI))
        elif kind < 0.65:
            parts.append(rng.choice(CONTROLS))
        elif kind < 0.75:
            parts.append(rng.choice(PUNCTUATION))
        elif kind < 0.82:
            parts.append(rng.choice(CASE_TRAPS))
        elif kind < 0.9:
            parts.append(str(rng.randint(0, 10**rng.randint(1, 12))))
        else:
            parts.append(" " * rng.randint(1, 4) + rng.choice(["\t", "\n", "\u3000", ""]))
    return rng.choice(["", " ", "  "]).join(parts)


def random_code_points(rng):
    """Any assigned, non-surrogate code point (UTF-8 cannot carry a lone surrogate)."""
    out = []
    while len(out) < rng.randint(1, 12):
        c = rng.choice([rng.randint(0x20, 0x2FFF), rng.randint(0x3000, 0xFFFF), rng.randint(0x10000, 0x1FAFF)])
        if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn":
            out.append(chr(c))
    return "".join(out)


def cases(rng, count, specials):
    fixed = ["", " ", "   ", "\n\t", "a", "A photo of a cat", "a photo of a cat", "ΟΔΟΣ ΟΔΟΣ", "x" * 5000,
             " ".join(["word"] * 400), "猫" * 300, "🐱" * 200, "\u0301" * 50, "\x00", "\x00a\x00",
             *specials, *(f"{s} text {s}" for s in specials)]
    fixed += [code + sentence(rng) for code in flores_codes()]
    fixed += [code + " " + sentence(rng) for code in flores_codes()]
    out = list(fixed)
    generators = [
        lambda: sentence(rng),
        lambda: mixed(rng),
        lambda: random_code_points(rng),
        lambda: rng.choice(flores_codes()) + mixed(rng),
        lambda: " ".join(sentence(rng) for _ in range(rng.randint(5, 40))),  # long: truncation
        lambda: rng.choice(specials) + mixed(rng) if specials else mixed(rng),
    ]
    while len(out) < count:
        out.append(rng.choice(generators)())
    return out


# ------------------------------------------------------------------ families

def precompiled_charsmap(lines):
    """SentencePiece's nmt_nfkc normalisation table, as XLM-R/NLLB/SigLIP's tokenizer.json carry
    it in their `Precompiled` normaliser: taken from a SentencePiece model trained on part of the
    corpus (the table does not depend on the text; only the vocabulary this model learns does,
    and it is thrown away)."""
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "corpus.txt"
        text.write_text("\n".join(lines[:300]))
        spm.SentencePieceTrainer.train(input=str(text), model_prefix=f"{tmp}/sp", vocab_size=3000,
                                       character_coverage=0.98, hard_vocab_limit=False, minloglevel=2, normalization_rule_name="nmt_nfkc")
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(Path(f"{tmp}/sp.model").read_bytes())
        return proto.normalizer_spec.precompiled_charsmap


def sentencepiece_normalizer(charsmap):
    return normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])


def train(tokenizer, trainer, lines):
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer


def with_byte_fallback_pieces(tokenizer):
    """Gemma's vocabulary carries the 256 `<0xNN>` pieces byte fallback emits."""
    spec = json.loads(tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    for byte in range(256):
        vocab.setdefault(f"<0x{byte:02X}>", len(vocab))
    return Tokenizer.from_str(json.dumps(spec))


def xlmr(lines, charsmap):
    """M-CLIP's XLM-RoBERTa: Precompiled + space-run folding, Metaspace, Unigram, <s> $A </s>."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = sentencepiece_normalizer(charsmap)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    train(tok, trainers.UnigramTrainer(vocab_size=4000, special_tokens=specials, unk_token="<unk>"), lines)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok, "<pad>", {"context_length": 77}, specials + ["<mask>"]


def labse(lines, _charsmap):
    """LaBSE: cased BERT normaliser (Chinese chars split, accents kept), BertPreTokenizer, WordPiece."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    train(tok, trainers.WordPieceTrainer(vocab_size=6000, special_tokens=specials), lines)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok, "[PAD]", {"context_length": 77}, specials


def nllb(lines, charsmap):
    """NLLB: SentencePiece normalisation and Metaspace over a BPE model, every FLORES code an added
    special token, the source-language template `eng_Latn $A </s>`."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = sentencepiece_normalizer(charsmap)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    train(tok, trainers.BpeTrainer(vocab_size=4000, special_tokens=specials), lines)
    codes = flores_codes()
    tok.add_special_tokens([*codes, AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.TemplateProcessing(
        single="eng_Latn $A </s>", pair="eng_Latn $A $B </s>",
        special_tokens=[("eng_Latn", tok.token_to_id("eng_Latn")), ("</s>", tok.token_to_id("</s>"))])
    return tok, "<pad>", {"context_length": 77}, specials + codes


def siglip(lines, charsmap):
    """SigLIP (T5-style SentencePiece Unigram): Precompiled, Metaspace, Unigram, `$A </s>`, pad </s>."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = sentencepiece_normalizer(charsmap)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<pad>", "</s>", "<unk>"]
    train(tok, trainers.UnigramTrainer(vocab_size=4000, special_tokens=specials, unk_token="<unk>"), lines)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok, "</s>", {"context_length": 64}, specials


def gemma(lines, _charsmap):
    """SigLIP2's Gemma tokenizer: spaces → ▁ in the normaliser, no pre-tokeniser, BPE with byte
    fallback and fused unknowns, `<bos> $A`; SigLIP2's config canonicalises text first."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    train(tok, trainers.BpeTrainer(vocab_size=4000, special_tokens=specials), lines)
    tok = with_byte_fallback_pieces(tok)
    tok.add_special_tokens(["<start_of_turn>", "<end_of_turn>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return tok, "<pad>", {"context_length": 64, "tokenizer_kwargs": {"clean": "canonicalize"}}, specials + ["<start_of_turn>"]


def clip(_lines, _charsmap):
    """OpenAI CLIP's byte-level BPE: the real tokenizer.json Immich ships for ViT-B-32__openai."""
    tok = Tokenizer.from_file(str(FIXTURES / "clip-tokenizer" / "tokenizer.json"))
    return tok, "<|endoftext|>", {"context_length": 77}, ["<|startoftext|>", "<|endoftext|>"]


FAMILIES = {"clip": clip, "xlm-roberta": xlmr, "labse": labse, "nllb": nllb, "siglip": siglip, "gemma": gemma}


# ------------------------------------------------------------------ upstream's tokenize

def write_golden(family, cases_out):
    known = json.loads(KNOWN_DIFFERENCES.read_text()).get(family, {}).get("texts", [])
    # Long strings (truncation) are few but large: the first LONG_GOLDEN_CASES of them are kept.
    long_texts = [c["text"] for c in cases_out if len(c["text"]) > 300][:LONG_GOLDEN_CASES]
    short = [c for c in cases_out if len(c["text"]) <= 300][:GOLDEN_CASES]
    kept = short + [c for c in cases_out if c["text"] in known or c["text"] in long_texts]
    write_gzip_json(GOLDEN_DIR / f"{family}.json.gz", {"cases": kept})


def write_gzip_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime=0: same content, same bytes
        f.write(json.dumps(value, ensure_ascii=False).encode())


def train_all():
    """Trains every family and stores the result in TRAINED_BUNDLE. The trainers are not
    deterministic (hash-map order), so the tokenizers are trained once and committed: every
    later run, and the documented differences, refer to the same files. The SentencePiece table
    they share is stored once."""
    lines = corpus(random.Random(13))
    charsmap = precompiled_charsmap(lines)
    charsmap_b64 = base64.b64encode(charsmap).decode()
    families = {}
    for family, build in FAMILIES.items():
        if family == "clip":
            continue
        tok, pad, text_cfg, specials = build(lines, charsmap)
        spec = replace_value(json.loads(tok.to_str()), charsmap_b64, CHARSMAP_PLACEHOLDER)
        families[family] = {"tokenizer.json": spec, "tokenizer_config.json": {"pad_token": pad},
                            "config.json": {"text_cfg": text_cfg}, "specials": specials}
    write_gzip_json(TRAINED_BUNDLE, {"charsmap": charsmap_b64, "families": families})


def family_files(family, bundle):
    """tokenizer.json, tokenizer_config.json, config.json and the special-token strings."""
    if family == "clip":
        return (json.loads((FIXTURES / "clip-tokenizer" / "tokenizer.json").read_text()), {"pad_token": "<|endoftext|>"},
                {"text_cfg": {"context_length": 77}}, ["<|startoftext|>", "<|endoftext|>"])
    return trained_family(family, bundle)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out_dir = Path(args[0])
    per_family = int(args[1]) if len(args) > 1 else 10000
    if "--train" in sys.argv or not TRAINED_BUNDLE.exists():
        train_all()
    bundle = load_bundle()
    for family in FAMILIES:
        spec, tokenizer_config, config, specials = family_files(family, bundle)
        folder = out_dir / family
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
        (folder / "config.json").write_text(json.dumps(config))
        # Read back from disk, exactly as upstream loads it.
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        text_cfg = config["text_cfg"]
        length = text_cfg["context_length"]
        pad = tokenizer_config["pad_token"]
        tok.enable_padding(length=length, pad_token=pad, pad_id=tok.token_to_id(pad))
        tok.enable_truncation(max_length=length)
        canonicalize = text_cfg.get("tokenizer_kwargs", {}).get("clean") == "canonicalize"
        cases_out = []
        for text in cases(random.Random(family), per_family, specials):
            enc = tok.encode(clean_text(text, canonicalize))
            cases_out.append({"text": text, "ids": enc.ids, "mask": enc.attention_mask})
        with (folder / "cases.jsonl").open("w") as f:
            f.writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in cases_out)
        if "--golden" in sys.argv and family in GOLDEN_FAMILIES:
            write_golden(family, cases_out)
        print(f"{family}: {per_family} cases, vocab {tok.get_vocab_size()}", flush=True)


if __name__ == "__main__":
    main()
