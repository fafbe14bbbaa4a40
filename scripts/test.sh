#!/usr/bin/env bash
# The one command that runs the whole test suite: installs what is missing, type-checks,
# runs every vitest tier, then checks that nothing was left running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test

echo "== type check" >&2
npx --no-install tsc --noEmit -p .

mkdir -p test-artifacts
# Files older than this are not this run's (connection file check below).
touch test-artifacts/.started
status=0
rm -f test-artifacts/vitest*.json
if [ "$#" -gt 0 ]; then
  # Only what was asked for.
  npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
else
  # Every tier: the Kubernetes tier (real control plane) runs after the rest, on its own.
  npx --no-install vitest run --exclude 'test/integration/control-plane/**' \
    --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json || status=$?
  SPARKGATE_DEPS_READY=1 bash scripts/test-k8s.sh || status=1
fi

# Kernels, Spark driver JVMs (their command line names the session's properties file in the
# test's runtime dir) and REPLs; with the ports they still listen on.
echo "== leak check: kernel processes, JVMs and their ports" >&2
# Control-plane processes and executor JVMs of the Kubernetes tier live under $TMPDIR/sparkgate-cp-*.
leaks=$(pgrep -af 'sparkgate-(test|cli|jupyter|cp)-' | grep -v pgrep || true)
if [ -n "$leaks" ]; then
  echo "processes left behind by the tests:" >&2
  echo "$leaks" >&2
  for pid in $(echo "$leaks" | cut -d' ' -f1); do
    ss -ltnpH 2>/dev/null | grep "pid=$pid," | sed "s/^/  listening (pid $pid): /" >&2 || true
  done
  status=1
fi

# The tests' runtime dirs are $TMPDIR/sparkgate-test-*; each removes its connection files.
# (The short soak, test/soak/soak-short.test.ts, runs above with the other tests; the long one is `npm run soak`.)
echo "== leak check: connection files of the tests" >&2
files=$(find "${TMPDIR:-/tmp}" -maxdepth 3 -path '*/sparkgate-test-*' -name 'kernel-*.json' -newer test-artifacts/.started 2>/dev/null || true)
if [ -n "$files" ]; then
  echo "connection files left behind by the tests:" >&2
  echo "$files" >&2
  status=1
fi

node -e '
  const fs = require("fs");
  const files = fs.readdirSync("test-artifacts").filter((f) => /^vitest.*\.json$/.test(f));
  let passed = 0, failed = 0, skipped = 0;
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(`test-artifacts/${f}`, "utf8"));
    passed += r.numPassedTests;
    // A file that failed to load has no test results of its own: count it once.
    failed += r.numFailedTests + r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length;
    skipped += r.numPendingTests + (r.numTodoTests || 0);
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped (${files.join(", ")})`);
' || status=1
exit $status
