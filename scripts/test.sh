#!/usr/bin/env bash
# The one command that runs the whole test suite: installs what is missing, type-checks,
# runs every vitest tier, then checks that nothing was left running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test

echo "== type check" >&2
npx --no-install tsc --noEmit -p .

mkdir -p test-artifacts
status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?

echo "== leak check: kernel processes of the tests" >&2
leaks=$(pgrep -af 'sparkgate-(test|cli|jupyter)-' | grep -v pgrep || true)
if [ -n "$leaks" ]; then
  echo "processes left behind by the tests:" >&2
  echo "$leaks" >&2
  status=1
fi

node -e '
  const r = require("./test-artifacts/vitest.json");
  const failed = r.numFailedTests + (r.numFailedTestSuites || 0);
  console.log(`${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + (r.numTodoTests || 0)} skipped`);
' || status=1
exit $status
