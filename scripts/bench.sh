#!/usr/bin/env bash
# The benchmark (issue 14): every HTTP function's warm latency beside the bare store calls it needs,
# login beside one argon2id verification (and what a login takes and costs by Lambda memory size),
# throughput with 16 clients, DynamoDB capacity units per call at 1,000 and 100,000 users, and the
# cost per million calls of each function behind either kind of API Gateway API. Then the cold start
# and peak memory of every HTTP function's release binary (median of 20 starts, 200 warm events).
# Runs against its own in-memory DynamoDB Local on 127.0.0.1 (release builds) and writes
# docs/benchmarks/warm.md, warm.json, warm.png (matplotlib, from PyPI into .local/), cold.md and
# cold.json. A benchmark, not a test: it asserts no timings. About 15 minutes on 2 cores, and
# 20 more for the cold starts (28 release builds).
#
#   scripts/bench.sh [--requests 1000] [--large 100000] [--out docs/benchmarks] [--only FUNCTION]
#   (--only: that route's warm latency alone, and login beside argon2 for auth_tokens; writes nothing)
#   BENCH_DDB_PORT=8790   DynamoDB Local's port for the bench
#   BENCH_COLD=0          skip the cold starts
#   BENCH_WARM=0          skip everything but the cold starts
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export DDB_PORT="${BENCH_DDB_PORT:-8790}" DDB_IN_MEMORY=1 DDB_JAVA_OPTS="${DDB_JAVA_OPTS:--Xmx4g}"
scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
scripts/dynamodb-local.sh start
trap 'scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
OUT=docs/benchmarks
args=("$@")
ONLY=""
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --out ] && OUT="${args[$((i + 1))]}"
  [ "${args[$i]}" = --only ] && ONLY="${args[$((i + 1))]}"
done
mkdir -p "$OUT"
endpoint="http://127.0.0.1:$DDB_PORT"

if [ "${BENCH_WARM:-1}" != 0 ]; then
  cargo build --release --quiet -p local-stack --bin bench
  DYNAMODB_ENDPOINT="$endpoint" target/release/bench "$@"
  # --only measures one route and writes no table: nothing new to plot.
  if [ -z "$ONLY" ]; then
    # shellcheck source=scripts/venv.sh
    source "$ROOT/scripts/venv.sh"
    plot="$(venv matplotlib matplotlib==3.9.2)"
    "$plot/python" scripts/bench-plot.py "$OUT/warm.json" "$OUT/warm.png"
  fi
fi

if [ "${BENCH_COLD:-1}" != 0 ]; then
  # The functions API Gateway invokes: those whose sample event is an API Gateway request.
  functions=()
  for event in events/*.json; do
    grep -q '"httpMethod"' "$event" && functions+=("$(basename "$event" .json)")
  done
  packages=()
  binaries=()
  for function in "${functions[@]}"; do
    packages+=(-p "$function")
    binaries+=("target/release/$function")
  done
  cargo build --release --quiet "${packages[@]}"
  cargo build --release --quiet -p local-stack --bin cold_start
  target/release/cold_start --ddb-endpoint "$endpoint" --starts 20 --warm 200 \
    --breakdown user_get --json "$OUT/cold.json" "${binaries[@]}" > "$OUT/cold.md"
  cat "$OUT/cold.md"
fi
