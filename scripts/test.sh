#!/usr/bin/env bash
# `npm test`: prepare the machine (services, Docker, staging images, a Node >= 22), build, run every test
# against the real PostgreSQL, MariaDB, Docker engine and s3rver, and print one closing line "N passed, N failed".
# Build and tests run on the node scripts/node.sh picks (the machine's when >= 22, else Node 24 LTS from .tools/):
# its directory goes first on PATH, so npm, tsc, jest and every `node` a test spawns use it.
# Before the tests it runs the layer rules (npm run lint:layers) and the unused-code check (npm run lint:unused);
# a finding fails the run (the tests still run, so one run shows both). BACKUP_BOT_LINT=0 skips both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
PATH="$(bash scripts/node.sh --bin-dir):$PATH"
export PATH
npm run --silent build
status=0
lint_failed=()
if [ "${BACKUP_BOT_LINT:-1}" = 1 ]; then
  npm run --silent lint:layers || lint_failed+=(lint:layers)
  npm run --silent lint:unused || lint_failed+=(lint:unused)
fi
results="$(mktemp)"
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (r.numTotalTests === 0) { console.log("no test ran"); process.exit(1); }
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$results" || status=1
rm -f "$results"
if [ "${#lint_failed[@]}" -gt 0 ]; then echo "failed: ${lint_failed[*]} (see above)"; status=1; fi
exit "$status"
