#!/usr/bin/env bash
# Prepare what a bare GPU machine (device tool) needs and cannot download: wheels for the pure-Python
# packages it lacks (.whl/) and the vangogh2photo-mini slice (.gl/data/). Both folders are git-ignored;
# name them in the device tool's `carry`: [".whl", ".gl"]. Then run: bash .ci/gpu_session.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .whl .gl/data
pip download -q -d .whl --python-version 3.12 --only-binary=:all: --no-deps \
  dominate tqdm pytest iniconfig pluggy packaging pygments
rm -rf .gl/data/vangogh2photo-mini
cp -r ../shared/data/vangogh2photo-mini .gl/data/
du -sh .whl .gl
