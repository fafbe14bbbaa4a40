#!/usr/bin/env bash
# The long soak (not part of `npm test`, which runs a 40-cycle version): SOAK_CYCLES (1000)
# create / execute / delete cycles, SOAK_CONCURRENCY (4) in flight, against `sparkgate serve`
# as its own process; then checks that no kernel process, connection file, port or fd is left
# and that the gateway's memory is back to its baseline. Prints a summary table; exits 1 with
# the reasons otherwise. Other settings: see test/soak/soak.ts.
#   SOAK_CYCLES=200 SOAK_CONCURRENCY=8 npm run soak
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
exec node --import tsx test/soak/soak.ts
