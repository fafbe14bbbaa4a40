#!/usr/bin/env bash
# The one command that runs the gateway: installs what is missing, builds, serves on
# localhost (embedded local mode) and prints the URL and token. Extra args go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh runtime
exec node bin/sparkgate.js serve "$@"
