#!/usr/bin/env bash
# Prints the folder holding the CLIP exports and their reference embeddings
# (scripts/reference/export_clip.py), making it first when missing. The export (~800 MB) lives in
# the ignored .cache/clip-export/<key>, key = hash of the exporter, its tokenizers and requirements, so it is
# made once per change of either; older keys are removed. Used by `npm run parity` and the bench.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/reference/setup-venv.sh export >&2
key=$(cat scripts/reference/export_clip.py scripts/reference/trained_tokenizers.py test/golden/tokenizers/trained-tokenizers.json.gz scripts/reference/requirements-export.txt | sha256sum | cut -c1-16)
dir=.cache/clip-export/$key
if [ ! -f "$dir/reference.json" ]; then
  mkdir -p .cache/clip-export
  find .cache/clip-export -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
  .venv-export/bin/python scripts/reference/export_clip.py "$dir" >&2
fi
echo "$PWD/$dir"
