#!/usr/bin/env bash
# Download an official CycleGAN dataset into ./datasets/NAME/ (trainA, trainB, testA, testB).
#
# Usage: bash scripts/download_cyclegan_dataset.sh [--force] NAME
#
# The zip is fetched from $CYCLEGAN_DATA_URL/NAME.zip (default: the official Berkeley
# host) into a resumable .part file, checked (CRCs, no absolute or '..' paths), extracted
# into a hidden temporary folder beside the target and only then renamed into place.
# An existing dataset is kept unless --force is given; with --force the old folder is
# removed only after the new one is complete.
# Environment: CYCLEGAN_DATA_URL (mirror base URL), CYCLEGAN_DATASETS_DIR (default
# ./datasets), PYTHON (interpreter used to check and extract the zip).
# Exit codes: 0 done, 1 download/zip/disk failure or existing dataset, 2 bad usage or name.
# Argument parsing and the download itself live in scripts/download_common.sh.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/download_common.sh"

KIND=dataset
DEFAULT_URL="http://efrosgans.eecs.berkeley.edu/cyclegan/datasets"
URL_VAR=CYCLEGAN_DATA_URL
EXT=zip
NAMES=(apple2orange summer2winter_yosemite horse2zebra monet2photo cezanne2photo ukiyoe2photo
       vangogh2photo maps cityscapes facades iphone2dslr_flower ae_photos mini)

parse_args "$@"  # exits unless NAME is one of NAMES
require_tools "error: python3 is needed to check the zip; set PYTHON to an interpreter"

set_url
dir="${CYCLEGAN_DATASETS_DIR:-./datasets}"
target="$dir/$name"
part="$dir/$name.zip.part"
refuse_existing_target

mkdir -p -- "$dir"
tmp=""
cleanup() { if [[ -n "$tmp" ]]; then rm -rf -- "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

download_failed_hook() {
    if [[ "$name" == cityscapes ]]; then
        err "note: the official host may not serve Cityscapes (license); it is also at https://cityscapes-dataset.com"
    fi
}

download

# Check every entry's CRC and path, then extract into a temporary folder beside the target.
tmp=$(mktemp -d "$dir/.$name.extract.XXXXXX")
zip_rc=0
"$PY" - "$part" "$tmp" <<'PYEOF' || zip_rc=$?
import sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
try:
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts:
                sys.exit(f"unsafe path in the zip: {info.filename!r}")
        bad = z.testzip()
        if bad is not None:
            sys.exit(f"CRC check failed for {bad!r}")
        if not z.infolist():
            sys.exit("the zip is empty")
        try:
            z.extractall(dest)
        except OSError as e:  # the zip is fine, the disk is not: exit 3 for a different message
            print(f"extraction failed: {e}", file=sys.stderr)
            sys.exit(3)
except (zipfile.BadZipFile, EOFError, OSError) as e:
    sys.exit(f"not a valid zip file (truncated or corrupt?): {e}")
PYEOF
if [[ "$zip_rc" -eq 3 ]]; then
    rm -f -- "$part"
    err "error: could not extract $part into $dir (disk full or no permission?); the zip and the partial extraction were deleted."
    exit 1
elif [[ "$zip_rc" -ne 0 ]]; then
    rm -f -- "$part"
    err "error: $part downloaded from $url is not a usable zip (see above); it was deleted, nothing was extracted."
    err "Re-run to download it again, or set CYCLEGAN_DATA_URL to another mirror."
    exit 1
fi

# Official zips hold a top folder NAME/; accept a zip with the domain folders at its root too.
root="$tmp/$name"
if [[ ! -d "$root" ]]; then root="$tmp"; fi
missing=()
for sub in trainA trainB testA testB; do [[ -d "$root/$sub" ]] || missing+=("$sub"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$name" == mini || "$name" == ae_photos ]]; then
        if [[ -z "$(find "$root" -type f -print -quit)" ]]; then
            rm -f -- "$part"
            err "error: the zip from $url holds no files; it was deleted, nothing was installed."; exit 1
        fi
        err "note: $name has no ${missing[*]} folder(s); installed as it is."
    else
        rm -f -- "$part"
        err "error: the zip from $url has no ${missing[*]} folder(s) under $name/; it was deleted, nothing was installed."
        exit 1
    fi
fi

# Swap into place: rename is atomic, and an old dataset is removed only once the new one is there.
old=""
if [[ -e "$target" ]]; then
    old=$(mktemp -d "$dir/.$name.old.XXXXXX")
    mv -- "$target" "$old/$name"
fi
if ! mv -- "$root" "$target"; then
    if [[ -n "$old" ]]; then mv -- "$old/$name" "$target"; rm -rf -- "$old"; fi
    err "error: could not move the extracted dataset to $target"
    exit 1
fi
if [[ -n "$old" ]]; then rm -rf -- "$old"; fi
rm -f -- "$part"
count=$(find "$target" -type f | wc -l | tr -d ' ')
echo "Dataset $name is ready in $target ($count files)."
