#!/usr/bin/env bash
# Stage visdom's page assets (JS/CSS/fonts/MathJax) from the npm registry into the installed
# visdom package, so `cyclegan-visdom` renders its page without reaching visdom's CDNs.
# The file list lives in cyclegan/cli/visdom_server.py (ASSETS). Idempotent: does nothing when
# everything is already there; pass --force to stage again.
# Usage: bash scripts/stage_visdom_assets.sh [--force]   (env PYTHON picks the interpreter)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python}"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,6p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "stage_visdom_assets.sh: unknown argument '$arg' (only --force)" >&2; exit 2 ;;
  esac
done

command -v npm >/dev/null || { echo "stage_visdom_assets.sh: npm not found; install Node.js/npm (Debian: apt-get install npm)" >&2; exit 1; }

manifest="$(cd "$repo" && PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" "$py" -m cyclegan.visdom_server --manifest)"
static="$(printf '%s\n' "$manifest" | head -n1 | cut -f2)"
version="$(printf '%s\n' "$manifest" | head -n1 | cut -f3)"
entries="$(printf '%s\n' "$manifest" | tail -n +2)"

if [[ $force -eq 0 && -f "$static/version.built" && "$(cat "$static/version.built")" == "$version" ]]; then
  all=1
  while IFS=$'\t' read -r spec src dst; do
    [[ -e "$static/${dst%/}" ]] || { all=0; break; }
  done <<< "$entries"
  if [[ $all -eq 1 ]]; then echo "visdom assets already staged in $static"; exit 0; fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for spec in $(printf '%s\n' "$entries" | cut -f1 | sort -u); do
  dir="$tmp/$(printf '%s' "$spec" | tr '@/' '__')"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent --ignore-scripts "$spec" >/dev/null)
  tarball="$(ls "$dir"/*.tgz)"
  tar -xzf "$tarball" -C "$dir" --no-same-owner --warning=no-unknown-keyword 2>/dev/null || tar -xzf "$tarball" -C "$dir" --no-same-owner
  echo "fetched $spec"
done

while IFS=$'\t' read -r spec src dst; do
  dir="$tmp/$(printf '%s' "$spec" | tr '@/' '__')/package"
  if [[ "$src" == */ ]]; then
    mkdir -p "$static/$dst"
    cp -R "$dir/$src." "$static/$dst"
  else
    [[ -f "$dir/$src" ]] || { echo "stage_visdom_assets.sh: $spec has no $src" >&2; exit 1; }
    mkdir -p "$(dirname "$static/$dst")"
    cp "$dir/$src" "$static/$dst"
  fi
done <<< "$entries"

# visdom skips its CDN download when version.built holds its version and every file exists
printf '%s' "$version" > "$static/version.built"
echo "visdom $version assets staged in $static"
