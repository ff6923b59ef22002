#!/usr/bin/env bash
# Start the visdom server for the training display on 127.0.0.1 (default port 8097).
# Usage: bash scripts/start_visdom.sh [--port P] [--host 0.0.0.0] [--env_path DIR]
# Binding to another address than 127.0.0.1 needs an explicit --host.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" -m cyclegan.visdom_server "$@"
