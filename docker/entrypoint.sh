#!/bin/sh
# The image's entry point, run by tini (PID 1): the first argument picks the program.
#
#   cairn-node [flags]      a storage node; CAIRN_REGION and CAIRN_ZONE (when set and no
#                           --locality is given) become --locality region=R,zone=Z
#   cairn-gateway [flags]   the SQL gateway
#   cairn-operator [flags]  the Kubernetes operator
#   cairn [command]         the CLI (the default: `cairn --help`)
set -eu

# V8 flags of the servers, as cli/local-cluster.ts SERVER_V8_FLAGS (which says why): a
# 64 MiB young generation, and an old generation that starts at 256 MiB.
SERVER_V8_FLAGS="--max-semi-space-size=64 --initial-old-space-size=256"

program="${1:-cairn}"
[ "$#" -gt 0 ] && shift

case "$program" in
  cairn-node)
    if [ -n "${CAIRN_REGION:-}" ]; then
      case " $* " in
        *" --locality"*) ;;
        *) set -- --locality "region=${CAIRN_REGION}${CAIRN_ZONE:+,zone=${CAIRN_ZONE}}" "$@" ;;
      esac
    fi
    exec node $SERVER_V8_FLAGS /app/dist/node/server/main.js "$@"
    ;;
  cairn-gateway)
    exec node $SERVER_V8_FLAGS /app/dist/gateway/server/main.js "$@"
    ;;
  cairn-operator)
    exec node /app/dist/operator/main.js "$@"
    ;;
  cairn)
    exec node /app/bin/cairn "$@"
    ;;
  *)
    echo "cairn image: unknown program '$program' (cairn-node, cairn-gateway, cairn-operator or cairn)" >&2
    exit 2
    ;;
esac
