#!/usr/bin/env bash
# Creates (or brings up to date) a venv for `npm run parity`:
#   setup-venv.sh            the reference libraries: .venv-reference/ (or IMMICH_ML_REFERENCE_VENV)
#                            from scripts/reference/requirements.txt
#   setup-venv.sh export     the CLIP exporter: .venv-export/ from requirements-export.txt
# at the repository root. pip's cache is reused; torch goes in first, pinned to the CPU build, so
# nothing later pulls a CUDA one. A venv whose stamp matches its requirements is left as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = export ]; then
  VENV=.venv-export
  REQUIREMENTS=scripts/reference/requirements-export.txt
else
  VENV=${IMMICH_ML_REFERENCE_VENV:-.venv-reference}
  REQUIREMENTS=scripts/reference/requirements.txt
fi
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
