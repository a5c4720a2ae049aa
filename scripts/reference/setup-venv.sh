#!/usr/bin/env bash
# Creates (or brings up to date) the reference venv `npm run parity` runs: .venv-reference/ at the
# repository root (or IMMICH_ML_REFERENCE_VENV), from scripts/reference/requirements.txt. pip's
# cache is reused; torch goes in first, pinned to the CPU build, so nothing later pulls a CUDA
# one. A venv whose stamp matches requirements.txt is left as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${IMMICH_ML_REFERENCE_VENV:-.venv-reference}
REQUIREMENTS=scripts/reference/requirements.txt
STAMP="$VENV/.requirements.sha256"
TORCH="torch==2.13.0"

wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
  exit 0
fi

python3 -m venv "$VENV"
pip="$VENV/bin/pip"
"$pip" install --quiet --upgrade pip wheel setuptools
"$pip" install --quiet "$TORCH"
# insightface 0.7.3 ships only an sdist: its Cython extension builds against the venv's numpy.
"$pip" install --quiet cython numpy==2.4.6
"$pip" install --quiet --no-build-isolation -r "$REQUIREMENTS"
"$VENV/bin/python" -c "import torch; assert '+cpu' in torch.__version__ or not torch.cuda.is_available(), torch.__version__"
echo "$wanted" > "$STAMP"
