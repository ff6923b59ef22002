#!/usr/bin/env bash
# Install the project and everything it needs, on a fresh machine too:
#   torch/torchvision, visdom 0.2.4 (source-only: needs setuptools<81 and --no-build-isolation),
#   tornado<6.6 (6.6 breaks visdom's pages), this package with its test extra, and visdom's page
#   assets staged from the npm registry (so the visdom page renders offline).
# Usage: bash scripts/install.sh        (env PYTHON picks the interpreter; TORCH_SPEC overrides the torch pins)
# Run it inside a virtualenv (python -m venv .venv && . .venv/bin/activate) to keep it off the system Python.
# The pinned torch is PyPI's CUDA build (about 5.5 GB with its CUDA libraries); it runs on CPU-only machines
# too. For a CPU-only build set TORCH_SPEC, e.g. to PyTorch's CPU wheel index (see docs/install.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py="${PYTHON:-python}"
"$py" -m pip install ${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}
"$py" -m pip install "setuptools<81" wheel "tornado<6.6"
"$py" -m pip install --no-build-isolation "visdom==0.2.4"
"$py" -m pip install --no-build-isolation -e ".[test]"
if command -v npm >/dev/null; then
  bash scripts/stage_visdom_assets.sh
else  # the rest works without them; only the live visdom page needs its JavaScript
  echo "install.sh: npm not found, so visdom's page assets were not staged (the visdom page will not render" \
       "offline; everything else works). Debian: apt-get install -y npm, then bash scripts/stage_visdom_assets.sh" >&2
fi
echo "installed; run the tests with: $py -m pytest -q tests"
