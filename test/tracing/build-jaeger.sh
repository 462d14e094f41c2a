#!/usr/bin/env bash
# Builds Jaeger (the all-in-one `jaeger` binary) from the Go module proxy into a cache
# folder outside git, once per machine, for the end-to-end tracing test. Prints the
# binary's path.
#
#   test/tracing/build-jaeger.sh             build it if missing, print its path
#   test/tracing/build-jaeger.sh --bin-path  only print its path (may not exist yet)
#
# The folder is keyed by a hash of this script (which names the version), so a change to
# it builds afresh. CAIRN_JAEGER_CACHE overrides the cache root (default
# ~/.cache/cairn-jaeger). Progress goes to stderr and a log file next to the binary; a
# cold build takes several minutes on two cores, seconds with a warm Go build cache.
set -euo pipefail

JAEGER_VERSION=v1.76.0
JAEGER_MODULE=github.com/jaegertracing/jaeger

if command -v go >/dev/null 2>&1; then GO="$(command -v go)"; else GO=/usr/local/go/bin/go; fi
if [[ ! -x "$GO" ]]; then
  echo "build-jaeger.sh: Go is needed to build Jaeger (go on PATH or /usr/local/go/bin/go)" >&2
  exit 1
fi

key="$(sha256sum <"$0" | cut -c1-16)"
root="${CAIRN_JAEGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-jaeger}"
out="$root/$key"
bin="$out/jaeger"

if [[ "${1:-}" == "--bin-path" ]]; then
  echo "$bin"
  exit 0
fi

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$out"
# One build at a time per machine: a second caller waits for the first, then finds the
# binary in place.
exec 9>"$out/.lock"
flock 9
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

log="$out/build.log"
echo "building Jaeger $JAEGER_VERSION into $bin (log: $log)" >&2
echo "$(date -u +%FT%TZ) building $JAEGER_MODULE@$JAEGER_VERSION with $("$GO" version)" >>"$log"
staging="$(mktemp -d "$out/.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
fail() {
  echo "$1; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}

started=$(date +%s)
# `go install ...@version` refuses a module whose go.mod has replace directives, as
# Jaeger's has: build inside the downloaded module instead, where they apply. Run from
# the empty staging folder so that no enclosing go.mod or go.work is touched.
echo "  downloading $JAEGER_MODULE@$JAEGER_VERSION..." >&2
download="$(cd "$staging" && GOWORK=off GOFLAGS=-mod=mod "$GO" mod download -json "$JAEGER_MODULE@$JAEGER_VERSION" 2>>"$log")" \
  || { echo "$download" >>"$log"; fail "downloading $JAEGER_MODULE@$JAEGER_VERSION failed"; }
module_dir="$(echo "$download" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
[[ -n "$module_dir" && -d "$module_dir" ]] || { echo "$download" >>"$log"; fail "go mod download gave no module folder"; }

echo "  jaeger ($module_dir/cmd/jaeger)..." >&2
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOWORK=off
# The version variable is what `jaeger version` and the startup log report.
ldflags="-s -w -X $JAEGER_MODULE/internal/version.latestVersion=$JAEGER_VERSION"
(cd "$module_dir" && nice -n 10 "$GO" build -trimpath -ldflags "$ldflags" -o "$staging/jaeger" ./cmd/jaeger) >>"$log" 2>&1 \
  || fail "building jaeger failed"
echo "  jaeger built in $(( $(date +%s) - started )) s" >&2
mv "$staging/jaeger" "$bin"
echo "$bin"
