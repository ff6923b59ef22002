# Shared helpers for download_cyclegan_dataset.sh and download_cyclegan_model.sh: argument
# parsing with NAME validation, the python/curl checks, and the resumable curl download with
# its error messages. Sourced by those scripts (which set -euo pipefail), never run on its own.
#
# Before calling these functions the sourcing script sets:
#   KIND         "dataset" or "model": picks the usage line and words the messages
#   NAMES        array of the valid names; nothing else gets past parse_args
#   URL_VAR      name of the environment variable holding a mirror base URL
#   DEFAULT_URL  base URL used when $URL_VAR is unset or empty
#   EXT          extension of the file fetched, $base/NAME.EXT
# and later target (the file or folder to create) and part (the .part download file). It may
# redefine download_failed_hook, run after the messages of a failed download, before exit 1.

err() { printf '%s\n' "$*" >&2; }

usage() {
    err "usage: bash scripts/download_cyclegan_$KIND.sh [--force] NAME"
    err "valid $KIND names: ${NAMES[*]}"
}

# Sets force (0 or 1) and name from the arguments. Exits 0 for -h/--help and 2 for bad usage.
parse_args() {
    local arg n known=0
    force=0
    name=""
    for arg in "$@"; do
        case "$arg" in
            --force) force=1 ;;
            -h|--help) usage; exit 0 ;;
            -*) err "error: unknown option '$arg'"; usage; exit 2 ;;
            *)
                if [[ -n "$name" ]]; then err "error: give exactly one $KIND name"; usage; exit 2; fi
                name="$arg" ;;
        esac
    done
    if [[ -z "$name" ]]; then err "error: no $KIND name given"; usage; exit 2; fi

    # Only names from the fixed list go any further, so NAME can never hold a path or shell syntax.
    for n in "${NAMES[@]}"; do
        if [[ "$name" == "$n" ]]; then known=1; fi
    done
    if [[ "$known" -ne 1 ]]; then
        err "error: unknown $KIND name '$name'"
        usage
        exit 2
    fi
}

# Sets PY to $PYTHON or the python3/python on PATH and checks for curl; exits 1 without them.
require_tools() {  # $1 the error printed when no python is found
    PY="${PYTHON:-$(command -v python3 || command -v python || true)}"
    if [[ -z "$PY" ]]; then err "$1"; exit 1; fi
    if ! command -v curl >/dev/null 2>&1; then err "error: curl is needed to download; install it"; exit 1; fi
}

# Make `cyclegan` importable from this checkout even when it is not pip-installed.
make_repo_importable() {
    local repo_root
    repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
    export PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}"
}

# Sets url to $URL_VAR (or DEFAULT_URL), without a trailing slash, followed by /NAME.EXT.
set_url() {
    local base="${!URL_VAR:-$DEFAULT_URL}"
    base="${base%/}"
    url="$base/$name.$EXT"
}

# An existing target is kept unless --force was given.
refuse_existing_target() {
    if [[ -e "$target" && "$force" -ne 1 ]]; then
        err "error: $target already exists; nothing was downloaded. Pass --force to download it again and replace it."
        exit 1
    fi
}

download_failed_hook() { :; }

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
    err "To use a mirror, set $URL_VAR to its base URL (the file fetched is \$$URL_VAR/$name.$EXT)."
    download_failed_hook
    exit 1
}

fetch() {  # prints the HTTP status; stalls below 1 KiB/s for 60 s count as failures, not --max-time
    local progress=(-sS)
    if [[ -t 2 ]]; then progress=(--progress-bar); fi
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
