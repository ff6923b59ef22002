#!/usr/bin/env bash
# Compare the vangogh2photo CycleGAN with Gatys on held-out photos (testB), Van Gogh paintings from testA:
# results/compare_vangogh2photo_cyclegan/{index.html,metrics.json,metrics.csv}.
# Gatys needs VGG19 ImageNet weights in the torch cache (or pass --weights PATH); extra flags are passed on,
# e.g. --num 40 --image_size 256 --num_iters 300 --style_mode domain
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python}" -m cyclegan.compare --name vangogh2photo_cyclegan \
  --photos ./datasets/vangogh2photo/testB --style ./datasets/vangogh2photo/testA \
  --dataroot ./datasets/vangogh2photo --num 10 --image_size 256 --num_iters 300 "$@"
