#!/usr/bin/env bash
# Download an official pretrained CycleGAN generator to ./checkpoints/NAME_pretrained/latest_net_G.pth.
#
# Usage: bash scripts/download_cyclegan_model.sh [--force] NAME
# Then:  cyclegan-test --dataroot PHOTOS --name NAME_pretrained --model test --no_dropout
#
# The file is fetched from $CYCLEGAN_MODEL_URL/NAME.pth (default: the official Berkeley
# host) into a resumable latest_net_G.pth.part, checked with `python -m
# cyclegan.verify_weights` (a real PyTorch state dict of tensors, loaded weights_only) and
# only then renamed to latest_net_G.pth. A file that fails the check (an HTML error page,
# a truncated file) is deleted so the next run starts fresh. An existing latest_net_G.pth
# is kept unless --force is given.
# Environment: CYCLEGAN_MODEL_URL (mirror base URL), CYCLEGAN_CHECKPOINTS_DIR (default
# ./checkpoints), PYTHON (interpreter with torch, used for the check).
# Exit codes: 0 done, 1 download/check failure or existing model, 2 bad usage or name.
# Argument parsing and the download itself live in scripts/download_common.sh.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

KIND=model
DEFAULT_URL="http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
URL_VAR=CYCLEGAN_MODEL_URL
EXT=pth
NAMES=(style_monet style_cezanne style_ukiyoe style_vangogh apple2orange orange2apple
       summer2winter_yosemite winter2summer_yosemite horse2zebra zebra2horse monet2photo
       map2sat sat2map cityscapes_photo2label cityscapes_label2photo facades_photo2label
       facades_label2photo iphone2dslr_flower)

parse_args "$@"  # exits unless NAME is one of NAMES
require_tools "error: python3 with torch is needed to check the weights; set PYTHON to it"
make_repo_importable

set_url
folder="${CYCLEGAN_CHECKPOINTS_DIR:-./checkpoints}/${name}_pretrained"
target="$folder/latest_net_G.pth"
part="$target.part"
refuse_existing_target

mkdir -p -- "$folder"
# Leave no empty NAME_pretrained folder behind when nothing usable was downloaded.
drop_empty_folder() { rmdir -- "$folder" 2>/dev/null || true; }
download_failed_hook() { drop_empty_folder; }
trap 'exit 130' INT TERM

download

if ! "$PY" -m cyclegan.verify_weights "$part"; then
    rm -f -- "$part"
    drop_empty_folder
    err "error: $url did not give a PyTorch state dict (see above); the file was deleted and no latest_net_G.pth was written."
    err "Re-run to download it again, or set CYCLEGAN_MODEL_URL to another mirror."
    exit 1
fi
mv -f -- "$part" "$target"
echo "Model $name is ready in $target"
echo "Translate photos with: cyclegan-test --dataroot PHOTOS --name ${name}_pretrained --model test --no_dropout"
