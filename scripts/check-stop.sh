#!/usr/bin/env bash
# First-hour check (issue 10): `npm start` and `npm run start:prod`, stopped
# by SIGTERM or SIGINT sent to the npm process, leave no server behind: the
# port is free again and the embedded database's lock is released. Also
# checks that the first lines name the API, /docs, /admin, the database and
# create-superuser, and that Nest's module/route wiring is not logged at info.
# Needs a current build (npm run build); `npm start` then builds nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
failures=0
for script in start start:prod; do
  for signal in TERM INT; do
    dir=$(mktemp -d)
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    PORT=$port PGLITE_DATA_DIR="$dir/pglite" SHUTDOWN_DRAIN_SECONDS=0 JWT_SECRET=ci-check-secret-that-is-long-enough-0123456789 \
      npm run "$script" >"$dir/log" 2>&1 &
    npm_pid=$!
    up=no
    for _ in $(seq 1 240); do
      curl -sf "http://127.0.0.1:$port/health" >/dev/null && { up=yes; break; }
      sleep 0.5
    done
    kill "-$signal" "$npm_pid"
    for _ in $(seq 1 40); do kill -0 "$npm_pid" 2>/dev/null || break; sleep 0.25; done
    problem=""
    [ "$up" = yes ] || problem="never answered /health"
    kill -0 "$npm_pid" 2>/dev/null && problem="npm still running"
    if curl -s --max-time 1 "http://127.0.0.1:$port/health" >/dev/null; then problem="a server still answers on port $port"; fi
    [ -e "$dir/pglite.lock" ] && problem="$problem; PGlite lock left behind"
    for needle in "/docs" "/admin" "Database: embedded PGlite" "create-superuser"; do
      grep -q -- "$needle" "$dir/log" || problem="$problem; start-up lines do not mention $needle"
    done
    grep -q '"context":"RouterExplorer"\|"context":"InstanceLoader"' "$dir/log" && problem="$problem; module/route wiring logged at info"
    if [ -n "$problem" ]; then
      echo "npm run $script, SIG$signal: FAILED: $problem"; cat "$dir/log"; failures=$((failures + 1))
    else
      echo "npm run $script, SIG$signal: stopped, port $port free, lock released"
    fi
    rm -rf "$dir"
  done
done
exit "$failures"
