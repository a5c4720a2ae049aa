"""A ViT-B-32 CLIP with the real architecture and seeded random weights, exported as Immich
ships its CLIP models, plus reference embeddings from onnxruntime on upstream's preprocessing.

Run in the export venv (scripts/reference/setup-venv.sh export; transformers cannot share the
reference venv: its pins exclude tokenizers 0.23.2):
    .venv-export/bin/python scripts/reference/export_clip.py OUT_DIR [FIXTURES_DIR]

OUT_DIR/clip/ViT-B-32__openai/ is a model folder in upstream's cache layout:
  visual/model.onnx    `image` f32[1,3,224,224] -> `embedding` f32[1,512]
  textual/model.onnx   `text` int32[1,77] -> `embedding` f32[1,512]
  both with the embedding L2-normalised inside the graph (Immich's export wraps
  encode_image/encode_text with normalize=True), the batch axis fixed to 1; config.json,
  visual/preprocess_cfg.json and the textual tokenizer files are the fixtures'.
The towers are Hugging Face's CLIP implementation with OpenAI ViT-B/32's configuration (12 x 768
vision layers, patch 32, 12 x 512 text layers, quick_gelu, 512-d projections): the same graph
as open_clip's ViT-B-32 with other weights. OUT_DIR/reference.json holds onnxruntime's
embeddings for the fixture photos (upstream's legacy transform, restated: shorter side to 224
with PIL bicubic, int() centre crop, /255, mean/std) and for a few texts.
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
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection

ROOT = Path(__file__).resolve().parents[2]
NAME = "ViT-B-32__openai"
PHOTOS = ["messi5.jpg", "robin.jpg", "scenetext01.jpg", "scenetext03.jpg"]
TEXTS = ["a photo of a cat", "a footballer on a pitch", "NOTICE: double parking prohibited at all times", ""]
SEED = 13


class Normalised(torch.nn.Module):
    """The tower's projected embedding, L2-normalised, as Immich's export wraps it."""

    def __init__(self, tower, key, cast_to_long=False):
        super().__init__()
        self.tower, self.key, self.cast_to_long = tower, key, cast_to_long

    def forward(self, x):
        out = getattr(self.tower(x.long() if self.cast_to_long else x), self.key)
        return torch.nn.functional.normalize(out, dim=-1)


def export(module, example, input_name, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(module, (example,), str(path), input_names=[input_name], output_names=["embedding"],
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


def main():
    out_dir = Path(sys.argv[1])
    fixtures = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "fixtures"
    model_dir = out_dir / "clip" / NAME
    torch.manual_seed(SEED)
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        image_size=224, patch_size=32, projection_dim=512, hidden_act="quick_gelu")).eval()
    text = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
        max_position_embeddings=77, projection_dim=512, hidden_act="quick_gelu", eos_token_id=49407)).eval()
    with torch.no_grad():
        export(Normalised(vision, "image_embeds"), torch.zeros(1, 3, 224, 224), "image", model_dir / "visual" / "model.onnx")
        export(Normalised(text, "text_embeds", cast_to_long=True), torch.zeros(1, 77, dtype=torch.int32), "text",
               model_dir / "textual" / "model.onnx")
    shutil.copyfile(fixtures / "clip-config" / "config.json", model_dir / "config.json")
    shutil.copyfile(fixtures / "clip-config" / "preprocess_cfg.json", model_dir / "visual" / "preprocess_cfg.json")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(fixtures / "clip-tokenizer" / name, model_dir / "textual" / name)

    cfg = json.loads((model_dir / "visual" / "preprocess_cfg.json").read_text())
    size = cfg["size"][0] if isinstance(cfg["size"], list) else cfg["size"]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    visual = ort.InferenceSession(str(model_dir / "visual" / "model.onnx"), options, providers=["CPUExecutionProvider"])
    textual = ort.InferenceSession(str(model_dir / "textual" / "model.onnx"), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "textual" / "tokenizer.json"))
    tokenizer.enable_padding(length=77, pad_token="<|endoftext|>", pad_id=tokenizer.token_to_id("<|endoftext|>"))
    tokenizer.enable_truncation(max_length=77)
    images = {name: visual.run(None, {"image": preprocess(fixtures / "images" / name, size, cfg["mean"], cfg["std"])})[0][0].tolist()
              for name in PHOTOS}
    texts = {t: textual.run(None, {"text": np.array([tokenizer.encode(" ".join(t.split())).ids], dtype=np.int32)})[0][0].tolist()
             for t in TEXTS}
    (out_dir / "reference.json").write_text(json.dumps({"model": NAME, "images": images, "texts": texts}))
    print(f"CLIP ViT-B-32 export: {len(images)} images, {len(texts)} texts")


if __name__ == "__main__":
    main()
