#!/usr/bin/env bash
# The benchmark (issue 14): every HTTP function's warm latency beside the bare store calls it needs,
# login beside one argon2id verification, throughput with 16 clients, and DynamoDB capacity units
# per call at 1,000 and 100,000 users. Runs against its own in-memory DynamoDB Local on 127.0.0.1
# (release build of the bench), prints the figures and writes docs/benchmarks/warm.md and warm.json.
# A benchmark, not a test: it asserts no timings. About 15 minutes on 2 cores.
#
#   scripts/bench.sh [--requests 1000] [--large 100000] [--out docs/benchmarks]
#   BENCH_DDB_PORT=8790   DynamoDB Local's port for the bench
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export DDB_PORT="${BENCH_DDB_PORT:-8790}" DDB_IN_MEMORY=1 DDB_JAVA_OPTS="${DDB_JAVA_OPTS:--Xmx4g}"
scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
scripts/dynamodb-local.sh start
trap 'scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
cargo build --release --quiet -p local-stack --bin bench
DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT" target/release/bench "$@"
