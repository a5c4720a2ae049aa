#!/usr/bin/python3
"""Golden token ids for test/tasks/clip/tokenizer.test.ts, from an independent reference.

Run with Debian's interpreter:  /usr/bin/python3 scripts/reference/clip_tokenize.py

Upstream Immich encodes CLIP text with the Rust `tokenizers` library over textual/tokenizer.json
(not available on Debian). This script re-derives the same ids from first principles, using only
the standard library and OpenAI's original BPE merge list (bpe_simple_vocab_16e6.txt.gz), i.e.
without reading tokenizer.json at all:

  1. upstream clean_text: " ".join(text.split())            (Python's whitespace set)
  2. tokenizer.json normaliser: NFC, then runs of Unicode White_Space -> " ", then lower-case
     applied character by character (Rust's NormalizedString::lowercase maps each char on its own,
     so a final capital sigma becomes "σ", not the contextual "ς" that str.lower() gives)
  3. pre-tokeniser: the CLIP split pattern (special-token literals | 's 't 're 've 'm 'll 'd |
     letter runs | single digits | runs of other non-space chars), whitespace dropped; then the
     byte-level step: GPT-2's split pattern on each piece, UTF-8 bytes mapped to printable chars
  4. BPE with OpenAI's merges, "</w>" marking the end of each pre-token
  5. truncation to context_length - 2 content tokens, then <|startoftext|> ... <|endoftext|>
     (padding with <|endoftext|> to context_length is applied by the test).

Deliberate differences from OpenAI's own simple_tokenizer.py, which Immich does not use:
no ftfy.fix_text and no html.unescape (tokenizer.json has neither; "&amp;" stays "&amp;"), and
the char-by-char lower-casing above instead of str.lower(). `ftfy`/`regex` are not needed: the
Unicode classes \\p{L} / \\p{N} are taken from unicodedata categories (L*, N*), with the
Unicode version of this Python (14.0); the table avoids characters newer than that. Input
containing the literal special-token strings is not covered (the Rust library matches those as
added tokens before normalisation), so the table has none.
"""
import gzip
import json
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BPE_FILE = ROOT.parent / "shared" / "fixtures" / "clip-tokenizer" / "bpe_simple_vocab_16e6.txt.gz"
OUT = ROOT / "test" / "golden" / "clip" / "tokens.json"
CONTEXT_LENGTH = 77
SOT, EOT = "<|startoftext|>", "<|endoftext|>"

# Unicode White_Space: what Oniguruma's \s matches in the Rust library's patterns.
WHITE_SPACE = set(map(chr, [*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def is_letter(ch):
    return unicodedata.category(ch).startswith("L")


def is_number(ch):
    return unicodedata.category(ch).startswith("N")


def is_other(ch):
    return not (ch in WHITE_SPACE or is_letter(ch) or is_number(ch))


def run_length(text, start, predicate):
    end = start
    while end < len(text) and predicate(text[end]):
        end += 1
    return end - start


def clip_split(text):
    """Matches of the CLIP pre-tokeniser pattern, leftmost-first like a regex alternation."""
    pieces, i = [], 0
    while i < len(text):
        length = 0
        for literal in (SOT, EOT) + CONTRACTIONS:
            if text.startswith(literal, i):
                length = len(literal)
                break
        else:
            if is_letter(text[i]):
                length = run_length(text, i, is_letter)
            elif is_number(text[i]):
                length = 1
            elif is_other(text[i]):
                length = run_length(text, i, is_other)
        if length:
            pieces.append(text[i:i + length])
            i += length
        else:
            i += 1  # whitespace between matches is removed
    return pieces


def gpt2_split(piece):
    """GPT-2's byte-level split pattern (tokenizer.json's ByteLevel step) on one CLIP piece.

    CLIP pieces hold no whitespace, so only the contraction / letters / numbers / other-run
    alternatives of that pattern can match; it splits nothing but the special-token literals."""
    assert not any(ch in WHITE_SPACE for ch in piece)
    pieces, i = [], 0
    while i < len(piece):
        contraction = next((c for c in CONTRACTIONS if piece.startswith(c, i)), None)
        if contraction:
            length = len(contraction)
        else:
            predicate = is_letter if is_letter(piece[i]) else is_number if is_number(piece[i]) else is_other
            length = run_length(piece, i, predicate)
        pieces.append(piece[i:i + length])
        i += length
    return pieces


def byte_to_char_table():
    """GPT-2's reversible byte -> printable character mapping, in vocabulary order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in printable:
        table[b] = chr(b)
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def load_bpe():
    lines = gzip.open(BPE_FILE, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    byte_chars = list(byte_to_char_table().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges] + [SOT, EOT]
    return {pair: rank for rank, pair in enumerate(merges)}, {token: i for i, token in enumerate(vocab)}


RANKS, VOCAB = load_bpe()
BYTE_CHARS = byte_to_char_table()


def bpe(piece):
    """Greedy BPE: merge the best-ranked adjacent pair (all its occurrences) until none applies."""
    symbols = list(piece[:-1]) + [piece[-1] + "</w>"]
    while len(symbols) > 1:
        candidates = [(RANKS[p], p) for p in zip(symbols, symbols[1:]) if p in RANKS]
        if not candidates:
            break
        _, (left, right) = min(candidates)
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                merged.append(left + right)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return [VOCAB[s] for s in symbols]


def encode(text):
    text = " ".join(text.split())
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch in WHITE_SPACE else ch for ch in text)
    text = "".join(ch.lower() for ch in text)
    ids = []
    for piece in clip_split(text):
        for sub in gpt2_split(piece):
            ids += bpe("".join(BYTE_CHARS[b] for b in sub.encode("utf-8")))
    # Padding with <|endoftext|> up to CONTEXT_LENGTH is left to the test, to keep the file short.
    return [VOCAB[SOT]] + ids[:CONTEXT_LENGTH - 2] + [VOCAB[EOT]]


LONG = " ".join(["a photo of a very fluffy orange cat sleeping on a sunny windowsill"] * 8)
TABLE = [
    ("basic", "a photo of a cat"),
    ("upstream test query", "test   search query"),
    ("upper case", "A PHOTO OF A CAT"),
    ("punctuation", "Hello, World! It's a dog's life; isn't it? (yes) [no] {maybe} \"quoted\""),
    ("punctuation runs", "!!! ??? ... --- *** ((( ))) hello!!!world ~~~ @#$%^&*"),
    ("digits", "Numbers 1234567890 and 3.14159, dated 2024-01-01 at 10:30pm, 50% off $19.99"),
    ("accents", "Café naïve résumé Ångström façade crème brûlée São Paulo Zürich"),
    ("decomposed accents", "Cafe\u0301 nai\u0308ve e\u0301\u0301 a\u0308\u0304"),
    ("cjk", "東京タワーの夜景 北京 서울의 밤 ひらがな カタカナ"),
    ("emoji", "🐱 cat 😀👍🏽 🇩🇪 family 👨‍👩‍👧 ❤️ ☕"),
    ("apostrophes", "don't won't we'll I'm you're they've she'd ’curly’ ‘quotes’ 'single' O'Neil's"),
    ("contraction at word start", "'salt 'tis 'dog 'll 'mmm"),
    ("html-like", "<b>bold</b> &amp; <a href=\"x\">link</a> &lt;tag&gt; &#39;"),
    ("url and tags", "https://immich.app/docs?x=1#frag @user #tag user@example.com"),
    ("whitespace", "  lots\tof\n\nwhitespace \r\n here\u00a0nbsp\u3000ideographic\u2003em\u2028line\x0bvt\x0cff  "),
    ("python-only whitespace", "a\x1cb\x1dc\x1ed\x1fe\x85f"),
    ("zero-width and bom", "zero\u200bwidth\ufeffbom\u200djoiner\u2060wj"),
    ("greek final sigma", "ΟΔΟΣ ΣΟΦΙΑ Σ ΑΣ. Σίσυφος"),
    ("special lower-casing", "İstanbul ǅemal ﬁne Straße ẞ ΐ"),
    ("fullwidth", "ＡＢＣ １２３ ！"),
    ("scripts", "Привет мир, Γειά σου Κόσμε, مرحبا بالعالم, שלום, नमस्ते, สวัสดี"),
    ("long words", "supercalifragilisticexpialidocious antidisestablishmentarianism"),
    ("empty", ""),
    ("only whitespace", "   \t\n  "),
    ("longer than context", LONG),
    ("digits longer than context", "1234567890" * 9),
    ("75 content tokens", " ".join(["cat"] * 75)),
    ("76 content tokens", " ".join(["cat"] * 76)),
]


def main():
    cases = [{"name": name, "text": text, "ids": encode(text)} for name, text in TABLE]
    assert cases[0]["ids"] == [49406, 320, 1125, 539, 320, 2368, 49407], cases[0]["ids"]
    body = ",\n".join(" " + json.dumps(case) for case in cases)
    OUT.write_text("[\n" + body + "\n]\n")
    print(f"{len(cases)} cases -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
