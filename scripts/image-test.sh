#!/usr/bin/env bash
# npm run test:image: builds the Containerfile with podman and serves the API
# from the built image against this machine's PostgreSQL, as far as these
# machines allow: `podman build --isolation chroot` on a local Debian trixie
# base (debootstrap + podman import; trixie's Node is 20.19), then the image's
# own command run with `buildah run --isolation chroot` (podman run needs
# cgroups, which these machines lack). Passes when /health/ready answers 200
# from inside the image, the server runs as the image's non-root user, and
# SIGTERM stops it. Ends with one line: PASS or FAIL.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n=== %s\n' "$*"; }
fail() { echo "image test: $*" >&2; echo "FAIL"; exit 1; }
t0=$SECONDS
BASE=localhost/hc-base-trixie:latest
IMAGE=localhost/healthcare-api:test
PORT=${IMAGE_TEST_PORT:-3997}
DB=hc_image

say "tools (podman, buildah, debootstrap from Debian)"
if ! command -v podman >/dev/null || ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq podman buildah debootstrap fuse-overlayfs uidmap >/dev/null || fail "could not install podman/buildah/debootstrap"
fi

say "base image ${BASE} (debootstrap trixie + nodejs + npm; kept between runs)"
if ! podman image exists "$BASE"; then
  root=$(mktemp -d)
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >/dev/null || fail "debootstrap failed"
  chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null && apt-get clean' || fail "nodejs/npm not installed in the base"
  # This machine reaches the npm registry through an egress proxy with a CA of its own: the local base trusts it
  # as the host does (a machine setting, not the Containerfile's).
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates failed in the base"
  fi
  echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/etc/npmrc"
  tar -C "$root" -c . | podman import - "$BASE" >/dev/null || fail "podman import failed"
  rm -rf "$root"
fi
echo "base ready ($((SECONDS - t0)) s)"

say "podman build --isolation chroot --format docker"
b0=$SECONDS
podman build --isolation chroot --format docker --build-arg BASE_IMAGE="$BASE" -f Containerfile -t "$IMAGE" . >/tmp/hc-image-build.log 2>&1 || { tail -30 /tmp/hc-image-build.log; fail "podman build failed"; }
echo "built in $((SECONDS - b0)) s"
user=$(podman image inspect "$IMAGE" --format '{{.Config.User}}')
[ "$user" = "app" ] || fail "the image's user is '${user}', not app"
podman image inspect "$IMAGE" --format '{{.Config.Env}}' | grep -q 'NODE_ENV=production' || fail "NODE_ENV=production is not set"
# --format docker: the OCI format has no HEALTHCHECK, and podman would drop it.
podman image inspect "$IMAGE" --format '{{json .Config.Healthcheck}}' | grep -q 'health/ready' || fail "the image has no health check on /health/ready"

say "serve from the image (buildah run) against PostgreSQL"
 PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS ${DB}" -c "CREATE DATABASE ${DB}" || fail "could not create database ${DB}"
ctr=$(buildah from "$IMAGE") || fail "buildah from failed"
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; buildah rm "$ctr" >/dev/null 2>&1; }
trap cleanup EXIT
secret() { head -c 48 /dev/urandom | base64 | tr -d '/+=\n'; }
buildah run --isolation chroot --network host \
  --env DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}" --env HOST=127.0.0.1 --env PORT="$PORT" \
  --env JWT_SECRET="$(secret)" --env MFA_ENCRYPTION_KEY="$(secret)" --env AUDIT_CHAIN_KEY="$(secret)" --env LOG_LEVEL=warn \
  "$ctr" -- node --enable-source-maps --max-semi-space-size=32 --max-old-space-size=160 dist/src/main.js >/tmp/hc-image-run.log 2>&1 &
pid=$!
ok=
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:${PORT}/health/ready" >/dev/null 2>&1; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { tail -20 /tmp/hc-image-run.log; fail "/health/ready did not answer 200 within 60 s"; }
echo "GET /health/ready: $(curl -s "http://127.0.0.1:${PORT}/health/ready")"
server=$(pgrep -f "dist/src/main.js" -n) || fail "no server process found"
owner=$(ps -o user= -p "$server" | tr -d ' ')
echo "server process ${server} runs as: ${owner}"
[ "$owner" != "root" ] || fail "the server runs as root"

say "SIGTERM stops it"
kill -TERM "$server"
for _ in $(seq 1 30); do kill -0 "$server" 2>/dev/null || break; sleep 1; done
kill -0 "$server" 2>/dev/null && fail "the server was still running 30 s after SIGTERM"
echo "stopped"
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS ${DB}" >/dev/null
echo "total $((SECONDS - t0)) s"
echo "PASS"
