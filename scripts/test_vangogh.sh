#!/usr/bin/env bash
# Test the vangogh2photo model on every held-out image; the page is results/vangogh2photo_cyclegan/test_latest/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python}" -m cyclegan.test --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan \
  --model cycle_gan --phase test --no_dropout "$@"
