#!/usr/bin/env bash
# Runs the whole API locally without Docker: DynamoDB Local (file-backed under .local/dynamodb,
# 127.0.0.1 only), the table from template.yaml, tenant `local` with administrator `admin`, and the
# template's routes on http://127.0.0.1:$PORT (3000). Ctrl-C stops everything it started.
#
#   --fresh               start with an empty database
#   ADMIN_PASSWORD=...    the administrator's password (else one is generated and printed once)
#   PORT=3000             the API's port;  DDB_PORT=8000  DynamoDB Local's port
#   LOCAL_STATE_DIR=.local  where the running stack's settings are written for scripts/invoke.sh
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
[ -z "${LOCAL_STATE_DIR:-}" ] || LOCAL_STATE_DIR="$(realpath -m -- "$LOCAL_STATE_DIR")"
cd "$ROOT"

for arg in "$@"; do
  case "$arg" in
    --fresh) export DDB_FRESH=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

export DDB_PORT="${DDB_PORT:-8000}"
export DDB_IN_MEMORY=0
if [ "${DDB_FRESH:-0}" = 1 ]; then
  scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
fi
cargo build --quiet -p local-stack --bin local_server
# Stop DynamoDB Local at the end only if this run started it.
if scripts/dynamodb-local.sh status >/dev/null 2>&1; then
  echo "DynamoDB Local already runs on port $DDB_PORT; it is left running at the end" >&2
else
  scripts/dynamodb-local.sh start
  trap 'scripts/dynamodb-local.sh stop' EXIT INT TERM
fi
DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT" LOCAL_STATE_DIR="${LOCAL_STATE_DIR:-$ROOT/.local}" target/debug/local_server
