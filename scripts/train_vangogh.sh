#!/usr/bin/env bash
# Train photo<->Van Gogh with the official CycleGAN settings (resnet_9blocks, 256 px crops, 200 epochs).
# Extra flags are passed on, e.g. --gpu_ids 0 --display_id 0 --continue_train
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python}" -m cyclegan.train --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan \
  --model cycle_gan --pool_size 50 --no_dropout "$@"
