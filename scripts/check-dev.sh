#!/usr/bin/env bash
# First-hour check (issue 10): `npm run start:dev` compiles, starts the API
# (GET /health 200) with readable (pino-pretty) logs instead of JSON lines,
# restarts it after a source file is touched, and on SIGTERM to the npm
# process stops with every process it started: the compiler and the server
# exit, the port is free, the embedded database's lock is released.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
touched=src/health/health.controller.ts
problem=""

# Every process under $1 (by parent id), printed one per line.
descendants() {
  local child
  for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done
}
wait_health() { # $1: seconds
  for _ in $(seq 1 $(($1 * 2))); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.5
  done
  return 1
}
listening() { grep -c "Healthcare API listening" "$dir/log"; }

PORT=$port PGLITE_DATA_DIR="$dir/pglite" JWT_SECRET=ci-check-secret-that-is-long-enough-0123456789 \
  npm run start:dev >"$dir/log" 2>&1 &
npm_pid=$!

if ! wait_health 180; then
  problem="never answered /health"
else
  [ "$(listening)" = 1 ] || problem="$problem; expected one start-up, saw $(listening)"
  grep -q '^{"level":' "$dir/log" && problem="$problem; JSON log lines instead of pretty ones"
  grep -q 'INFO.*\[Bootstrap\] Healthcare API listening' "$dir/log" || problem="$problem; no pretty INFO [Bootstrap] line"
  # The file's own time comes back afterwards, so the check leaves dist/ current for what runs next.
  touch -r "$touched" "$dir/mtime"
  touch "$touched"
  for _ in $(seq 1 120); do [ "$(listening)" -ge 2 ] && break; sleep 0.5; done
  if [ "$(listening)" -lt 2 ]; then
    problem="$problem; not restarted after touching $touched"
  elif ! wait_health 30; then
    problem="$problem; no /health 200 after the restart"
  fi
fi

[ -e "$dir/mtime" ] && touch -r "$dir/mtime" "$touched"
started=$(descendants "$npm_pid")
kill -TERM "$npm_pid"
for _ in $(seq 1 80); do kill -0 "$npm_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$npm_pid" 2>/dev/null && problem="$problem; npm still running"
for pid in $started; do
  if kill -0 "$pid" 2>/dev/null; then
    problem="$problem; process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) still running"
    kill -KILL "$pid" 2>/dev/null
  fi
done
[ -n "$started" ] || problem="$problem; start:dev started no process"
if curl -s --max-time 1 "http://127.0.0.1:$port/health" >/dev/null; then problem="$problem; a server still answers on port $port"; fi
[ -e "$dir/pglite.lock" ] && problem="$problem; PGlite lock left behind"

if [ -n "$problem" ]; then
  echo "npm run start:dev: FAILED: ${problem#; }"
  cat "$dir/log"
  rm -rf "$dir"
  exit 1
fi
echo "npm run start:dev: answered /health, pretty logs, restarted after touching $touched, stopped on SIGTERM with its $(echo "$started" | wc -w) processes, port $port free, lock released"
rm -rf "$dir"
