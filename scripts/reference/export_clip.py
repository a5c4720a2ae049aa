"""CLIP towers with the real architectures and seeded random weights, exported as Immich ships
its CLIP models, plus reference embeddings from onnxruntime on upstream's preprocessing.

Run in the export venv (scripts/reference/setup-venv.sh export; transformers cannot share the
reference venv: its pins exclude tokenizers 0.23.2):
    .venv-export/bin/python scripts/reference/export_clip.py OUT_DIR [FIXTURES_DIR]

Each OUT_DIR/clip/<name>/ is a model folder in upstream's cache layout, with the signatures of
upstream's exporter (machine-learning/export, immich_model_exporter/exporters/onnx/models):
batch axis fixed to 1, output `embedding`, L2-normalised inside the graph.
  ViT-B-32__openai          OpenAI ViT-B/32 (12 x 768 vision layers, patch 32, 12 x 512 text
                            layers, quick_gelu, 512-d projections): `image` f32[1,3,224,224],
                            `text` int32[1,77]; the fixtures' config, preprocess_cfg and tokenizer.
  ViT-B-16-SigLIP2__webli   SigLIP (patch 16 at 224, attention-pooling head; text pooled at the
                            last position, linear head), fewer layers, 768-d: `image`
                            f32[1,3,224,224], `text` int32[1,64]; the trained Gemma tokenizer,
                            text_cfg with clean = canonicalize, mean/std 0.5 and resize_mode squash.
  XLM-Roberta-Large-Vit-B-32  M-CLIP's text tower only (XLM-R, masked mean pooling, linear
                            projection to 512, as multilingual_clip defines it), fewer and narrower
                            layers: `input_ids` and `attention_mask` int32[1,77]; the trained XLM-R
                            tokenizer (pad id 1, XLM-R's padding_idx).
The towers are Hugging Face's implementations. open_clip builds ViT-B-32 and SigLIP2 from the
same blocks (SigLIP2's timm ViT with `map` pooling is SiglipVisionModel's attention-pooling head;
its text tower pools the last position without a causal mask, as SiglipTextModel does), but it
could not be installed here (see docs/PARITY.md). OUT_DIR/reference.json holds, per model,
onnxruntime's embeddings for the fixture photos (upstream's legacy transform, restated: shorter
side to the size with PIL bicubic, int() centre crop, /255, mean/std) and for a few texts
(upstream's clean_text and the Rust tokenizer, padded and truncated to the context length).
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from tokenizers import Tokenizer
from transformers import (CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection,
                          SiglipTextConfig, SiglipTextModel, SiglipVisionConfig, SiglipVisionModel, XLMRobertaConfig,
                          XLMRobertaModel)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trained_tokenizers import clean_text, load_bundle, trained_family  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ["messi5.jpg", "robin.jpg", "scenetext01.jpg", "scenetext03.jpg"]
# "   " cleans to an empty query (only the special tokens); a truly empty text field is a 400 upstream
# (FastAPI reads an empty form value as absent).
TEXTS = ["a photo of a cat", "a footballer on a pitch", "NOTICE: double parking prohibited at all times", "   "]
MULTILINGUAL_TEXTS = TEXTS + ["eine Katze auf dem Sofa", "東京タワーの夜景", "Привет, мир! 🐱", "  lots\tof   whitespace  "]
SEED = 13
# SigLIP2's preprocess_cfg as open_clip writes it; the service applies the legacy transform
# (shorter side + centre crop) whatever resize_mode says, as upstream's does.
SIGLIP_PREPROCESS = {"size": [224, 224], "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                     "interpolation": "bicubic", "resize_mode": "squash", "fill_color": 0}


class Normalised(torch.nn.Module):
    """The tower's embedding, L2-normalised, as Immich's export wraps encode_image/encode_text."""

    def __init__(self, tower, key):
        super().__init__()
        self.tower, self.key = tower, key

    def forward(self, x):
        # Token ids come in as int32 (Immich's signature); the embedding lookup wants int64.
        out = getattr(self.tower(x.long() if not x.is_floating_point() else x), self.key)
        return torch.nn.functional.normalize(out, dim=-1)


class MultilingualTextTower(torch.nn.Module):
    """M-CLIP's text tower as upstream exports it: the transformer's last hidden state, mean over
    the real tokens (attention mask), a linear projection, L2 normalisation."""

    def __init__(self, transformer, dims):
        super().__init__()
        self.transformer = transformer
        self.LinearTransformation = torch.nn.Linear(transformer.config.hidden_size, dims)

    def forward(self, input_ids, attention_mask):
        hidden = self.transformer(input_ids.long(), attention_mask.long())[0]
        mask = attention_mask.unsqueeze(2)
        pooled = (hidden * mask).sum(dim=1) / attention_mask.sum(dim=1)[:, None]
        return torch.nn.functional.normalize(self.LinearTransformation(pooled), dim=-1)


def export(module, examples, input_names, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(module, examples, str(path), input_names=input_names, output_names=["embedding"],
                      opset_version=17, dynamo=False)


def preprocess(path, size, mean, std):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w < h:
        new = (size, int(h / w * size))
    else:
        new = (int(w / h * size), size)
    img = img.resize(new, Image.BICUBIC)
    w, h = img.size
    left, top = int(w / 2 - size / 2), int(h / 2 - size / 2)
    img = img.crop((left, top, left + size, top + size))
    x = (np.asarray(img, dtype=np.float32) / 255.0 - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.expand_dims(x.transpose(2, 0, 1), 0).astype(np.float32)


def write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def write_tokenizer(model_dir, spec, tokenizer_config, config):
    write_json(model_dir / "textual" / "tokenizer.json", spec)
    write_json(model_dir / "textual" / "tokenizer_config.json", tokenizer_config)
    write_json(model_dir / "config.json", config)


def vit_b_32(model_dir, fixtures):
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        image_size=224, patch_size=32, projection_dim=512, hidden_act="quick_gelu")).eval()
    text = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
        max_position_embeddings=77, projection_dim=512, hidden_act="quick_gelu", eos_token_id=49407)).eval()
    export(Normalised(vision, "image_embeds"), (torch.zeros(1, 3, 224, 224),), ["image"], model_dir / "visual" / "model.onnx")
    export(Normalised(text, "text_embeds"), (torch.zeros(1, 77, dtype=torch.int32),), ["text"], model_dir / "textual" / "model.onnx")
    shutil.copyfile(fixtures / "clip-config" / "config.json", model_dir / "config.json")
    shutil.copyfile(fixtures / "clip-config" / "preprocess_cfg.json", model_dir / "visual" / "preprocess_cfg.json")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(fixtures / "clip-tokenizer" / name, model_dir / "textual" / name)


def vocab_size(spec):
    """Rows the embedding table needs: the model's vocabulary plus added tokens beyond it."""
    return max(len(spec["model"]["vocab"]), 1 + max(t["id"] for t in spec["added_tokens"]))


def siglip2(model_dir, bundle):
    spec, tokenizer_config, config, _ = trained_family("gemma", bundle)
    context = config["text_cfg"]["context_length"]
    shape = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=2, num_attention_heads=12,
                 hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    vision = SiglipVisionModel(SiglipVisionConfig(image_size=224, patch_size=16, **shape)).eval()
    text = SiglipTextModel(SiglipTextConfig(vocab_size=vocab_size(spec), max_position_embeddings=context, projection_size=768,
                                            pad_token_id=0, **shape)).eval()
    export(Normalised(vision, "pooler_output"), (torch.zeros(1, 3, 224, 224),), ["image"], model_dir / "visual" / "model.onnx")
    export(Normalised(text, "pooler_output"), (torch.zeros(1, context, dtype=torch.int32),), ["text"],
           model_dir / "textual" / "model.onnx")
    write_json(model_dir / "visual" / "preprocess_cfg.json", SIGLIP_PREPROCESS)
    write_tokenizer(model_dir, spec, tokenizer_config, {"embed_dim": 768, **config})


def mclip(model_dir, bundle):
    spec, tokenizer_config, config, _ = trained_family("xlm-roberta", bundle)
    pad_id = next(t["id"] for t in spec["added_tokens"] if t["content"] == tokenizer_config["pad_token"])
    # Two layers of 512: 25 MB in tensors of 1 MiB or more, so that the service maps its weights
    # and runs it at shorter sequence lengths, as it does a real tower (1 GB).
    transformer = XLMRobertaModel(XLMRobertaConfig(
        vocab_size=vocab_size(spec), hidden_size=512, intermediate_size=2048, num_hidden_layers=2, num_attention_heads=8,
        max_position_embeddings=514, type_vocab_size=1, pad_token_id=pad_id, layer_norm_eps=1e-5), add_pooling_layer=False)
    tower = MultilingualTextTower(transformer, 512).eval()
    ones = torch.ones(1, 77, dtype=torch.int32)
    export(tower, (ones, ones), ["input_ids", "attention_mask"], model_dir / "textual" / "model.onnx")
    write_tokenizer(model_dir, spec, tokenizer_config, config)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def image_references(model_dir, fixtures):
    cfg = json.loads((model_dir / "visual" / "preprocess_cfg.json").read_text())
    size = cfg["size"][0] if isinstance(cfg["size"], list) else cfg["size"]
    visual = session(model_dir / "visual" / "model.onnx")
    return {name: visual.run(None, {"image": preprocess(fixtures / "images" / name, size, cfg["mean"], cfg["std"])})[0][0].tolist()
            for name in PHOTOS}


def text_references(model_dir, texts):
    """Upstream's textual encoders: clean_text, Tokenizer.from_file, padding to the context
    length with the pad token, truncation; M-CLIP feeds the attention mask as well."""
    config = json.loads((model_dir / "config.json").read_text())["text_cfg"]
    pad = json.loads((model_dir / "textual" / "tokenizer_config.json").read_text())["pad_token"]
    tokenizer = Tokenizer.from_file(str(model_dir / "textual" / "tokenizer.json"))
    tokenizer.enable_padding(length=config.get("context_length", 77), pad_token=pad, pad_id=tokenizer.token_to_id(pad))
    tokenizer.enable_truncation(max_length=config.get("context_length", 77))
    textual = session(model_dir / "textual" / "model.onnx")
    names = [i.name for i in textual.get_inputs()]
    canonicalize = config.get("tokenizer_kwargs", {}).get("clean") == "canonicalize"
    out = {}
    for text in texts:
        enc = tokenizer.encode(clean_text(text, canonicalize))
        ids, mask = np.array([enc.ids], dtype=np.int32), np.array([enc.attention_mask], dtype=np.int32)
        feeds = {"input_ids": ids, "attention_mask": mask} if "input_ids" in names else {"text": ids}
        out[text] = textual.run(None, feeds)[0][0].tolist()
    return out


def main():
    out_dir = Path(sys.argv[1])
    fixtures = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "fixtures"
    bundle = load_bundle()
    models = [("ViT-B-32__openai", lambda d: vit_b_32(d, fixtures), TEXTS),
              ("ViT-B-16-SigLIP2__webli", lambda d: siglip2(d, bundle), MULTILINGUAL_TEXTS),
              ("XLM-Roberta-Large-Vit-B-32", lambda d: mclip(d, bundle), MULTILINGUAL_TEXTS)]
    references = []
    for name, build, texts in models:
        model_dir = out_dir / "clip" / name
        torch.manual_seed(SEED)
        with torch.no_grad():
            build(model_dir)
        has_visual = (model_dir / "visual" / "model.onnx").exists()
        references.append({"model": name, "images": image_references(model_dir, fixtures) if has_visual else {},
                           "texts": text_references(model_dir, texts)})
        print(f"CLIP export {name}: {len(references[-1]['images'])} images, {len(texts)} texts")
    (out_dir / "reference.json").write_text(json.dumps({"models": references}))


if __name__ == "__main__":
    main()
