# Sourced by the scripts that check the local server from outside (openapi-check.sh,
# conformance.sh): `start_local_server NAME [VAR=VALUE ...]` builds and starts the local server on
# a free port of 127.0.0.1 with a fresh tenant `local` in a table of its own, state under $STATE
# (made empty by the caller), against $DYNAMODB_ENDPOINT or an in-memory DynamoDB Local of its own,
# and waits until it answers. It sets BASE, admin_password, server_pid; the caller puts the pid of
# its own client in client_pid, so that an interrupt stops it too. At exit everything it started
# stops, and a shared DynamoDB Local loses the run's table. No secret, directory or key from the
# caller's environment reaches the server. The caller defines ROOT, STATE, step and die.

# A port of 127.0.0.1 nobody listens on, never one the developers' stacks use (3000, 3001, 8000,
# 8765-8770).
free_port() {
  local port
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    case "$port" in
      3000 | 3001 | 8000 | 876[5-9] | 8770) continue ;;
    esac
    printf '%s\n' "$port"
    return 0
  done
  die "no free port found"
}

server_pid=""
client_pid=""
own_ddb_port=""
ddb_endpoint=""
table=""
local_server_cleanup() {
  local status=$?
  local pid
  for pid in "$client_pid" "$server_pid"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$own_ddb_port" ]; then
    DDB_PORT="$own_ddb_port" scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
  elif [ -n "$ddb_endpoint" ] && [ -n "$table" ]; then
    # A DynamoDB Local that is not ours keeps running: drop the run's table from it (DynamoDB Local
    # checks no signature).
    curl --noproxy '*' -s -o /dev/null --max-time 10 -X POST "$ddb_endpoint/" \
      -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.DeleteTable' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
      -d "{\"TableName\": \"$table\"}" || true
  fi
  exit "$status"
}

start_local_server() { # NAME [VAR=VALUE ...]: the run's name, and more environment for the server
  local name="$1"
  shift
  trap local_server_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  step "local server (cargo build -p local-stack --bin local_server)"
  cargo build --quiet -p local-stack --bin local_server
  local server_bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/local_server"
  [ -x "$server_bin" ] || die "$server_bin was not built"

  if [ -n "${DYNAMODB_ENDPOINT:-}" ]; then
    case "$DYNAMODB_ENDPOINT" in
      http://127.0.0.1:* | http://localhost:*) ;;
      *) die "DYNAMODB_ENDPOINT must be a DynamoDB Local on 127.0.0.1, not $DYNAMODB_ENDPOINT" ;;
    esac
    ddb_endpoint="$DYNAMODB_ENDPOINT"
    echo "using DynamoDB Local at $ddb_endpoint" >&2
  else
    own_ddb_port="$(free_port)"
    DDB_PORT="$own_ddb_port" DDB_IN_MEMORY=1 scripts/dynamodb-local.sh start
    ddb_endpoint="http://127.0.0.1:$own_ddb_port"
  fi

  local api_port directory_port
  api_port="$(free_port)"
  directory_port="$(free_port)"
  [ "$api_port" != "$directory_port" ] || directory_port="$(free_port)"
  BASE="http://127.0.0.1:$api_port"
  # A table of its own (the shared DynamoDB Local may hold the test suite's or an earlier run's).
  table="useradmin-$name-$(date +%s)-$$"
  admin_password="Lp-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

  # Every request comes from 127.0.0.1, so the per-address limits (the template's WAF rules, which
  # would starve a tool) are off; the per-route throttle stays.
  env -u EXTERNAL_DIRECTORY_URL -u EXTERNAL_DIRECTORY_TOKEN -u TOKEN_SIGNING_KEY \
    -u TOKEN_SIGNING_KEY_SECRET_ARN -u SECRETS_MANAGER_ENDPOINT -u TABLE_NAME \
    LOGIN_RATE_LIMIT_PER_IP=off API_RATE_LIMIT_PER_IP=off \
    PORT="$api_port" DIRECTORY_PORT="$directory_port" DYNAMODB_ENDPOINT="$ddb_endpoint" \
    TABLE_NAME="$table" LOCAL_STATE_DIR="$STATE" ADMIN_PASSWORD="$admin_password" \
    MAIL_FOLDER="$STATE/mail" DEAD_LETTER_FOLDER="$STATE/dead-letters" "$@" \
    "$server_bin" >"$STATE/server.log" 2>&1 &
  server_pid=$!

  echo "waiting for $BASE (log: ${STATE#"$ROOT"/}/server.log)" >&2
  local i
  for ((i = 0; ; i++)); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      tail -n 30 "$STATE/server.log" >&2 || true
      die "the local server exited during startup"
    fi
    if curl --noproxy '*' -s -o /dev/null --max-time 2 "$BASE/v3/auth/tokens"; then
      break
    fi
    ((i < 240)) || die "the local server did not answer on $BASE within 60 s"
    sleep 0.25
  done
}
