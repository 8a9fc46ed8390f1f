#!/usr/bin/env bash
# First-hour check (issue 10): `npm start`, `npm run cli` and the migration
# scripts call `node scripts/build.mjs [api] --if-stale`; with a current build
# that call must write nothing: no file under dist/ changes its modification
# time or its content. Timing-free: it compares mtimes and checksums only.
set -uo pipefail
cd "$(dirname "$0")/.."
snapshot() { find dist -type f -printf '%P %T@ %s\n' | sort; find dist -type f -print0 | sort -z | xargs -0 sha256sum; }
# The first call builds whatever is missing or older than its sources; the next ones must reuse it.
node scripts/build.mjs --if-stale || { echo "build failed"; exit 1; }
before=$(snapshot)
node scripts/build.mjs api --if-stale || { echo "build failed"; exit 1; }   # as npm run cli / migration:*
node scripts/build.mjs --if-stale || { echo "build failed"; exit 1; }       # as npm start
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "build --if-stale rewrote a current build:"
  diff <(echo "$before") <(echo "$after") | head -20
  exit 1
fi
echo "build --if-stale reused the current build: $(find dist -type f | wc -l) files under dist/ unchanged (mtimes and checksums)"
