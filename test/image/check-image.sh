#!/usr/bin/env bash
# Builds the image from ./Dockerfile with podman and runs it the way the operator's pods
# do: non-root, read-only root filesystem, a data volume, an emptyDir-like /tmp. Checks:
#   - the user is 1000 and PID 1 is tini;
#   - cairn-node starts on a fresh volume; `cairn init` initialises it, writes the cluster
#     ID (--cluster-id-file) and gives root the password of a mounted file
#     (--root-password-file), as the operator's init Job does; cairn-gateway, asking for
#     SCRAM passwords, lets psql in with it (DDL, writes, reads) and keeps a wrong one out;
#   - /healthz answers on both servers, /metrics on both;
#   - SIGTERM stops both containers with exit status 0 (tini passes it on).
#
#   test/image/check-image.sh            build, then check (npm run test:image)
#   CAIRN_IMAGE=name test/image/check-image.sh --no-build   check an existing image
#
# Where the base image (node:20-bookworm-slim) cannot be pulled (a machine that reaches
# only package registries), a stand-in is built once: Debian bookworm from debootstrap
# with this machine's Node.js 20 and npm in /usr/local and a `node` user (uid 1000), as
# the official image has them. It is cached under ~/.cache/cairn-image (CAIRN_IMAGE_CACHE).
# Needs root for debootstrap and podman; everything listens on 127.0.0.1 (host network).
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE="${CAIRN_IMAGE:-localhost/cairn:check}"
BASE=docker.io/library/node:20-bookworm-slim
cache="${CAIRN_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-image}"

mkdir -p "$cache"
log() { echo "check-image: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# Podman's defaults raise rlimits above what an unprivileged sandbox may set, and crun
# refuses hybrid cgroup hierarchies: ask for limits within the current ones, and runc
# where it is installed.
podman_flags=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
if command -v runc >/dev/null 2>&1; then podman_flags+=(--runtime runc); fi

ensure_base() {
  if podman image exists "$BASE"; then return; fi
  if timeout 120 podman pull -q "$BASE" >/dev/null 2>&1; then return; fi
  log "cannot pull $BASE: building a stand-in from Debian bookworm and this machine's Node.js $(node --version)"
  [[ "$(node --version)" == v20.* ]] || fail "the stand-in needs Node.js 20 on this machine"
  command -v debootstrap >/dev/null || fail "debootstrap is needed for the stand-in base (apt-get install debootstrap)"
  local rootfs="$cache/rootfs"
  if [[ ! -x "$rootfs/usr/local/bin/node" ]]; then
    rm -rf "$rootfs"
    mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
      fail "debootstrap (log: $cache/debootstrap.log)"
    local npm_dir
    npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
    install -m 0755 "$(readlink -f "$(command -v node)")" "$rootfs/usr/local/bin/node"
    mkdir -p "$rootfs/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
    # This machine's CA bundle: its registries may sit behind a proxy with its own CA.
    mkdir -p "$rootfs/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  fi
  tar -C "$rootfs" -c . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$BASE" >/dev/null
}

if [[ "${1:-}" != "--no-build" ]]; then
  ensure_base
  log "building $IMAGE"
  start=$SECONDS
  podman build "${podman_flags[@]}" --network host --pull=never -t "$IMAGE" . >"$cache/build.log" 2>&1 ||
    { tail -30 "$cache/build.log" >&2; fail "podman build (log: $cache/build.log)"; }
  log "built $IMAGE in $((SECONDS - start)) s, $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')"
fi

work="$(mktemp -d)"
chmod 0777 "$work"
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
grpc_port="$(free_port)"; node_http="$(free_port)"; sql_port="$(free_port)"; gateway_http="$(free_port)"
mkdir -m 0777 "$work/data" "$work/out" "$work/node-tmp" "$work/gateway-tmp" "$work/secret"
password="image check $RANDOM$RANDOM"
echo "$password" >"$work/secret/password"
# As the kubelet leaves a Secret's file under fsGroup 1000 with defaultMode 0400.
chown 0:1000 "$work/secret/password" && chmod 0440 "$work/secret/password"

# As a pod of the operator's: uid 1000, read-only root, writable volumes only.
run() { podman run "${podman_flags[@]}" --network host --read-only --read-only-tmpfs=false --user 1000:1000 "$@"; }

[[ "$(podman run "${podman_flags[@]}" --rm --entrypoint id "$IMAGE" -u)" == 1000 ]] || fail "the image's user is not 1000"
[[ "$(podman image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')" == '["/usr/bin/tini","--","/usr/local/bin/cairn-entrypoint"]' ]] ||
  fail "the entry point is not tini running cairn-entrypoint"
run --rm "$IMAGE" | grep -q '^Usage: cairn <command>' || fail "the default command does not print the CLI's usage"

node_id="$(run -d -v "$work/data:/data" -v "$work/node-tmp:/tmp" "$IMAGE" cairn-node \
  --data-dir /data --listen-addr "127.0.0.1:$grpc_port" --http-addr "127.0.0.1:$node_http" --join "127.0.0.1:$grpc_port")"
containers+=("$node_id")
[[ "$(podman exec "$node_id" cat /proc/1/cmdline | tr '\0' ' ')" == /usr/bin/tini* ]] || fail "PID 1 is not tini"

wait_for() { # what, command...
  local what="$1"; shift
  for _ in $(seq 1 120); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done
  fail "$what"
}
wait_for "cairn-node's /healthz" curl -sf "http://127.0.0.1:$node_http/healthz"
wait_for "cairn init" run --rm -v "$work/out:/out" -v "$work/secret:/etc/cairn/root-password:ro" "$IMAGE" \
  cairn init --host "127.0.0.1:$grpc_port" --cluster-id-file /out/cluster-id --root-password-file /etc/cairn/root-password/password
grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$work/out/cluster-id" || fail "no cluster ID in --cluster-id-file"
log "initialised cluster $(cat "$work/out/cluster-id")"

gateway_id="$(run -d -v "$work/gateway-tmp:/tmp" "$IMAGE" cairn-gateway \
  --join "127.0.0.1:$grpc_port" --listen-addr "127.0.0.1:$sql_port" --http-addr "127.0.0.1:$gateway_http")"
containers+=("$gateway_id")
wait_for "cairn-gateway's /healthz" curl -sf "http://127.0.0.1:$gateway_http/healthz"
url="postgresql://root@127.0.0.1:$sql_port/defaultdb?sslmode=disable"
export PGPASSWORD="$password"
wait_for "a SQL connection" psql "$url" -c 'SELECT 1'
if PGPASSWORD=wrong psql "$url" -c 'SELECT 1' >/dev/null 2>&1; then fail "a wrong password was let in"; fi
answer="$(psql "$url" -qAt -v ON_ERROR_STOP=1 \
  -c 'CREATE TABLE image_check (k INT PRIMARY KEY, v TEXT)' \
  -c "INSERT INTO image_check VALUES (1, 'one'), (2, 'two')" \
  -c "UPDATE image_check SET v = 'deux' WHERE k = 2" \
  -c "SELECT string_agg(v, ',' ORDER BY k) FROM image_check")"
[[ "$answer" == "one,deux" ]] || fail "psql through the gateway answered '$answer'"
for port in "$node_http" "$gateway_http"; do
  curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^process_cpu_seconds_total' || fail "/metrics on port $port"
done

for c in "$gateway_id" "$node_id"; do
  podman stop -t 30 "$c" >/dev/null
  status="$(podman inspect "$c" --format '{{.State.ExitCode}}')"
  [[ "$status" == 0 ]] || { podman logs --tail 20 "$c" >&2; fail "container $c exited with $status after SIGTERM"; }
done
log "passed: non-root, read-only root, init with its cluster ID and root's password, SQL through the gateway with SCRAM, clean SIGTERM"
