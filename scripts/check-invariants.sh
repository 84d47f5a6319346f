#!/usr/bin/env bash
# Checks the local stack's table for broken invariants (orphan or stale uniqueness records, counter
# drift, users whose fields contradict their state, stale index keys): every tenant, or the one
# given. Prints the report as JSON and exits 1 when anything is broken. Changes nothing.
#
#   scripts/check-invariants.sh [TENANT]
#   DDB_PORT=8000  TABLE_NAME=useradmin-local   (the local stack's; scripts/local.sh)
#
# Deployed, the housekeeping function runs the same check:
#   aws lambda invoke --function-name <HousekeepingFunctionArn output> \
#     --cli-binary-format raw-in-base64-out --payload '{"action": "check", "tenant_id": "acme"}' report.json
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
cargo build --quiet -p local-stack --bin check_invariants
DYNAMODB_ENDPOINT="${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DDB_PORT:-8000}}" \
  exec target/debug/check_invariants "$@"
