#!/usr/bin/env bash
# The main job: get vangogh2photo (or, offline, a built-in dataset), train, test, print the results page.
# Usage: bash scripts/quickstart.sh [--small] [--offline] [--display_id 1]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python}" -m cyclegan.quickstart "$@"
