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
set -euo pipefail

DEFAULT_URL="http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
NAMES=(style_monet style_cezanne style_ukiyoe style_vangogh apple2orange orange2apple
       summer2winter_yosemite winter2summer_yosemite horse2zebra zebra2horse monet2photo
       map2sat sat2map cityscapes_photo2label cityscapes_label2photo facades_photo2label
       facades_label2photo iphone2dslr_flower)

err() { printf '%s\n' "$*" >&2; }

usage() {
    err "usage: bash scripts/download_cyclegan_model.sh [--force] NAME"
    err "valid model names: ${NAMES[*]}"
}

force=0
name=""
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) err "error: unknown option '$arg'"; usage; exit 2 ;;
        *)
            if [[ -n "$name" ]]; then err "error: give exactly one model name"; usage; exit 2; fi
            name="$arg" ;;
    esac
done
if [[ -z "$name" ]]; then err "error: no model name given"; usage; exit 2; fi

# Only names from the fixed list go any further, so NAME can never hold a path or shell syntax.
known=0
for n in "${NAMES[@]}"; do [[ "$name" == "$n" ]] && known=1; done
if [[ "$known" -ne 1 ]]; then
    err "error: unknown model name '$name'"
    usage
    exit 2
fi

PY="${PYTHON:-$(command -v python3 || command -v python || true)}"
if [[ -z "$PY" ]]; then err "error: python3 with torch is needed to check the weights; set PYTHON to it"; exit 1; fi
if ! command -v curl >/dev/null 2>&1; then err "error: curl is needed to download; install it"; exit 1; fi
# Make `cyclegan` importable from this checkout even when it is not pip-installed.
repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}"

base="${CYCLEGAN_MODEL_URL:-$DEFAULT_URL}"
base="${base%/}"
url="$base/$name.pth"
folder="${CYCLEGAN_CHECKPOINTS_DIR:-./checkpoints}/${name}_pretrained"
target="$folder/latest_net_G.pth"
part="$target.part"

if [[ -e "$target" && "$force" -ne 1 ]]; then
    err "error: $target already exists; nothing was downloaded. Pass --force to download it again and replace it."
    exit 1
fi

mkdir -p -- "$folder"
# Leave no empty NAME_pretrained folder behind when nothing usable was downloaded.
drop_empty_folder() { rmdir -- "$folder" 2>/dev/null || true; }
trap 'exit 130' INT TERM

fail_download() {  # $1 curl exit code, $2 HTTP status
    local rc="$1" code="$2"
    if [[ "$rc" -eq 22 || ( "$code" -ge 400 && "$code" -lt 600 ) ]]; then
        rm -f -- "$part"
        err "error: $url answered HTTP $code; nothing was saved."
    elif [[ -s "$part" ]]; then
        err "error: the download of $url broke off (curl exit $rc); $(wc -c <"$part" | tr -d ' ') bytes are kept in $part."
        err "Re-run the same command to resume it."
    else
        rm -f -- "$part"
        err "error: could not download $url (curl exit $rc; offline, DNS failure or host down?)."
    fi
    err "To use a mirror, set CYCLEGAN_MODEL_URL to its base URL (the file fetched is \$CYCLEGAN_MODEL_URL/$name.pth)."
    drop_empty_folder
    exit 1
}

progress=(-sS)
[[ -t 2 ]] && progress=(--progress-bar)
fetch() {  # prints the HTTP status; stalls below 1 KiB/s for 60 s count as failures, not --max-time
    curl "${progress[@]}" --fail --location --connect-timeout 5 --retry 2 --retry-delay 1 \
        --speed-limit 1024 --speed-time 60 --output "$part" --write-out '%{http_code}' "$@" -- "$url"
}

download() {  # resumable: a re-run continues the .part file with a Range request
    local rc=0 code
    err "Downloading $url"
    code=$(fetch --continue-at -) || rc=$?
    # A .part the server will not resume (no Range support, or already past its end) is restarted once.
    if [[ "$rc" -eq 33 || "$code" == 416 ]]; then
        err "note: the server cannot resume $part; starting the download again from the beginning"
        rm -f -- "$part"
        rc=0
        code=$(fetch) || rc=$?
    fi
    if [[ "$rc" -ne 0 ]]; then fail_download "$rc" "${code:-000}"; fi
}

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
