#!/usr/bin/env bash
# Prints the folder holding the ViT-B-32 export and its reference embeddings
# (scripts/reference/export_clip.py), making it first when missing. The export (600 MB) lives in
# the ignored .cache/clip-export/<key>, key = hash of the exporter and its requirements, so it is
# made once per change of either; older keys are removed. Used by `npm run parity` and the bench.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/reference/setup-venv.sh export >&2
key=$(cat scripts/reference/export_clip.py scripts/reference/requirements-export.txt | sha256sum | cut -c1-16)
dir=.cache/clip-export/$key
if [ ! -f "$dir/reference.json" ]; then
  mkdir -p .cache/clip-export
  find .cache/clip-export -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
  .venv-export/bin/python scripts/reference/export_clip.py "$dir" >&2
fi
echo "$PWD/$dir"
