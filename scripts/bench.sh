#!/usr/bin/env bash
# The benchmark (issue 14): every HTTP function's warm latency beside the bare store calls it needs,
# login beside one argon2id verification (and what a login takes and costs by Lambda memory size),
# throughput with 16 clients, DynamoDB capacity units per call at 1,000 and 100,000 users, and the
# cost per million calls of each function behind either kind of API Gateway API. Then the cold start
# and peak memory of every HTTP function's release binary (median of 20 starts, 200 warm events),
# each event one that succeeds (tests/src/bin/cold_start.rs prepares a fresh target per event where
# a request uses one up, and refuses to give figures for a function whose measured requests did not
# all answer its success status: then the run fails and cold.md and cold.json stay as they were).
# Runs against its own in-memory DynamoDB Local on 127.0.0.1 (release builds) and writes
# docs/benchmarks/warm.md, warm.json, warm.png (matplotlib, from PyPI into .local/), cold.md and
# cold.json. A benchmark, not a test: it asserts no timings. About 15 minutes on 2 cores, and
# 20–30 more for the cold starts (25 release builds: the 24 HTTP functions and the tool).
#
#   scripts/bench.sh [--requests 1000] [--large 100000] [--out docs/benchmarks] [--only FUNCTION]
#   (--only: that route's warm latency alone, and login beside argon2 for iam_auth_tokens; writes nothing)
#   BENCH_DDB_PORT=8790   DynamoDB Local's port for the bench
#   BENCH_COLD=0          skip the cold starts
#   BENCH_WARM=0          skip everything but the cold starts
#   BENCH_BUILD=0         the cold starts measure the release binaries already in target/release
#                         (built by an earlier run) instead of building them first
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
    # Only a function's own event (not a variant such as spaceone_user_create_external.json).
    [ -d "functions/$(basename "$event" .json)" ] || continue
    grep -q '"httpMethod"' "$event" && functions+=("$(basename "$event" .json)")
  done
  packages=()
  binaries=()
  for function in "${functions[@]}"; do
    packages+=(-p "$function")
    binaries+=("target/release/$function")
  done
  if [ "${BENCH_BUILD:-1}" != 0 ]; then
    cargo build --release --quiet "${packages[@]}"
    cargo build --release --quiet -p local-stack --bin cold_start
  fi
  # Written beside the old files and put in their place only when the tool reports every
  # function: a refused function (or a failed run) leaves cold.md and cold.json as they were.
  cold="$(mktemp -d)"
  trap 'rm -rf "$cold"; scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
  if ! target/release/cold_start --ddb-endpoint "$endpoint" --starts 20 --warm 200 \
    --breakdown spaceone_user_get --json "$cold/cold.json" "${binaries[@]}" > "$cold/cold.md"; then
    cat "$cold/cold.md"
    echo "cold starts: not every function reported; $OUT/cold.md and cold.json left as they were" >&2
    exit 1
  fi
  mv "$cold/cold.md" "$OUT/cold.md"
  mv "$cold/cold.json" "$OUT/cold.json"
  cat "$OUT/cold.md"
fi
