#!/usr/bin/env bash
# On a lent GPU machine (after .ci/gpu_bundle.sh here, carry [".whl", ".gl"]): install the carried wheels,
# then `tests` (the tests that need CUDA, ~3 min) and/or `check` (scripts/gpu_check.sh on the carried
# vangogh2photo-mini, under 8 min). Default: both. Run them as two device calls to stay under 10 minutes each.
# Everything printed also goes to $OUT (when set) so the device tool brings it back.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PARTS="${*:-tests check}"
LOG="${OUT:-/tmp}/gpu_session.txt"
{
  python -m pip install -q --no-index --find-links .whl dominate tqdm pytest 2>&1 | tail -2
  export PYTHONPATH="$PWD"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
  if [[ " $PARTS " == *" tests "* ]]; then
    echo "== CUDA tests =="
    timeout "${TEST_LIMIT:-280}" python -m pytest -q -rs -p no:cacheprovider tests/test_graph_step.py \
      tests/test_cuda_graph_guarantees.py tests/test_speed.py tests/test_compiled_inference.py \
      tests/test_fast_nst.py 2>&1 | tail -40
  fi
  if [[ " $PARTS " == *" check "* ]]; then
    echo "== scripts/gpu_check.sh =="
    DATA=.gl/data/vangogh2photo-mini timeout "${CHECK_LIMIT:-500}" bash scripts/gpu_check.sh 2>&1
  fi
} 2>&1 | tee "$LOG"
