#!/usr/bin/env bash
# Builds the binaries that the operator's tests run against — kube-apiserver, kubectl and
# etcd from test/k8s/tools (Kubernetes sources through the Go module proxy) and helm —
# into a cache folder outside git, once per machine. Prints the folder holding them.
#
#   test/k8s/build-tools.sh            build what is missing, print the bin folder
#   test/k8s/build-tools.sh --bin-dir  only print the bin folder (may not exist yet)
#
# The folder is keyed by a hash of the wrapper module's go.mod and go.sum, this script
# and the helm version, so a change to any of them builds afresh. CAIRN_K8S_CACHE
# overrides the cache root (default ~/.cache/cairn-k8s). Progress goes to stderr and a
# log file next to the binaries; a cold build takes tens of minutes on two cores.
set -euo pipefail

HELM_VERSION=v3.22.0
here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/tools"

if command -v go >/dev/null 2>&1; then GO="$(command -v go)"; else GO=/usr/local/go/bin/go; fi
if [[ ! -x "$GO" ]]; then
  echo "build-tools.sh: Go is needed to build the test API server (go on PATH or /usr/local/go/bin/go)" >&2
  exit 1
fi

key="$(cat "$tools/go.mod" "$tools/go.sum" "$tools/etcd/main.go" "$0" | sha256sum | cut -c1-16)"
root="${CAIRN_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-k8s}"
out="$root/$key"
bin="$out/bin"

if [[ "${1:-}" == "--bin-dir" ]]; then
  echo "$bin"
  exit 0
fi

all_built() {
  [[ -x "$bin/kube-apiserver" && -x "$bin/kubectl" && -x "$bin/etcd" && -x "$bin/helm" ]]
}
if all_built; then
  echo "$bin"
  exit 0
fi

mkdir -p "$out"
# One build at a time per machine: a second caller waits for the first, then finds the
# binaries in place.
exec 9>"$out/.lock"
flock 9
if all_built; then
  echo "$bin"
  exit 0
fi

log="$out/build.log"
echo "building Kubernetes test binaries into $bin (log: $log)" >&2
mkdir -p "$bin"
staging="$(mktemp -d "$out/.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

kube_version="$(cd "$tools" && "$GO" list -m -f '{{.Version}}' k8s.io/kubernetes)"
major="$(echo "$kube_version" | sed -E 's/^v([0-9]+)\..*/\1/')"
minor="$(echo "$kube_version" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')"
# Without these /version says v0.0.0 and version checks (helm's kubeVersion) fail.
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
build() {
  local name="$1" pkg="$2" started
  started=$(date +%s)
  echo "  $name ($pkg)..." >&2
  (cd "$tools" && nice -n 10 "$GO" build -trimpath -ldflags "-s -w $ldflags" -o "$staging/$name" "$pkg") >>"$log" 2>&1 \
    || { echo "building $name failed; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }
  echo "  $name built in $(( $(date +%s) - started )) s" >&2
  mv "$staging/$name" "$bin/$name"
}

[[ -x "$bin/etcd" ]] || build etcd ./etcd
[[ -x "$bin/kube-apiserver" ]] || build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
[[ -x "$bin/kubectl" ]] || build kubectl k8s.io/kubernetes/cmd/kubectl
if [[ ! -x "$bin/helm" ]]; then
  started=$(date +%s)
  echo "  helm ($HELM_VERSION)..." >&2
  # Helm's default Kubernetes version for `helm template` and `helm lint` comes from its
  # client-go, through ldflags, as helm's own Makefile sets them.
  helm_mod="$(cd "$staging" && GOFLAGS=-mod=mod "$GO" mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  helm_kube_minor="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$helm_mod")"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_kube_minor"
  done
  # Outside the wrapper module, so that helm keeps its own client-go.
  (cd "$staging" && GOBIN="$staging" nice -n 10 "$GO" install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >>"$log" 2>&1 \
    || { echo "building helm failed; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }
  echo "  helm built in $(( $(date +%s) - started )) s" >&2
  mv "$staging/helm" "$bin/helm"
fi
echo "$bin"
