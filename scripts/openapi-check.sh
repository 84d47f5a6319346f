#!/usr/bin/env bash
# Checks docs/openapi.yaml: validates it with openapi-spec-validator, then runs schemathesis against
# the local server (a fresh tenant `local` in its own table, on a free port of 127.0.0.1, state under
# .local/openapi-check/) and fails on any server error or any answer that contradicts the document.
# Installs both tools on first use (PyPI, into .local/venv-*). Never touches a developer's own local
# stack (port 3000, table useradmin-local, .local/mail); nothing it starts reaches past 127.0.0.1.
#
#   DYNAMODB_ENDPOINT=http://127.0.0.1:PORT   use this DynamoDB Local (scripts/test.sh exports it);
#                                             else an in-memory one is started on a free port and
#                                             stopped at the end
#   OPENAPI_CHECK_MAX_EXAMPLES=100            schemathesis test cases per operation and phase
#                                             (100: about 4,000 requests, a minute on 2 cores)
#   OPENAPI_CHECK_SEED=N                      schemathesis' random seed (to replay a run)
#   OPENAPI_CHECK_WORKERS=1                   concurrent schemathesis workers (more than one can
#                                             crash schemathesis itself: CPython 3.11's ast.parse,
#                                             which hypothesis calls to describe its filters, is not
#                                             thread-safe: "SystemError: AST constructor recursion
#                                             depth mismatch", a runtime error in a CI run of
#                                             2026-12-03 that failed it)
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly OPENAPI_SPEC_VALIDATOR_VERSION="0.9.0"
readonly SCHEMATHESIS_VERSION="4.32.5"
readonly SPEC="$ROOT/docs/openapi.yaml"
readonly STATE="$ROOT/.local/openapi-check"
readonly MAX_EXAMPLES="${OPENAPI_CHECK_MAX_EXAMPLES:-100}"
readonly WORKERS="${OPENAPI_CHECK_WORKERS:-1}"
# What every answer is checked for (schemathesis 4's names), and in which phases cases are made.
readonly CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
readonly PHASES="examples,coverage,fuzzing"
# The whole schemathesis run is cut off after this many seconds (a hung server must not hang CI).
readonly ST_TIMEOUT=600

# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

step() { printf '\n==> %s\n' "$*" >&2; }
die() {
  printf 'openapi-check: %s\n' "$*" >&2
  exit 1
}

# Nothing here may go through a proxy: every request is for 127.0.0.1.
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

validator_bin="$(venv openapi-spec-validator "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION")"
st_bin="$(venv schemathesis "schemathesis==$SCHEMATHESIS_VERSION")"
cd "$ROOT"

step "openapi-spec-validator docs/openapi.yaml"
"$validator_bin/openapi-spec-validator" "$SPEC"

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
st_pid=""
own_ddb_port=""
ddb_endpoint=""
table=""
cleanup() {
  local status=$?
  if [ -n "$st_pid" ] && kill -0 "$st_pid" 2>/dev/null; then
    kill -TERM "$st_pid" 2>/dev/null || true
    wait "$st_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
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
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "local server (cargo build -p local-stack --bin local_server)"
cargo build --quiet -p local-stack --bin local_server
server_bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/local_server"
[ -x "$server_bin" ] || die "$server_bin was not built"

rm -rf -- "$STATE"
mkdir -p "$STATE"

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

api_port="$(free_port)"
directory_port="$(free_port)"
[ "$api_port" != "$directory_port" ] || directory_port="$(free_port)"
readonly BASE="http://127.0.0.1:$api_port"
# A table of its own (the shared DynamoDB Local may hold the test suite's or an earlier run's).
table="useradmin-openapi-$(date +%s)-$$"
admin_password="Oc-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# The server's own sample directory answers find/sync; no secret, directory or key from the
# caller's environment is used.
env -u EXTERNAL_DIRECTORY_URL -u EXTERNAL_DIRECTORY_TOKEN -u TOKEN_SIGNING_KEY \
  -u TOKEN_SIGNING_KEY_SECRET_ARN -u SECRETS_MANAGER_ENDPOINT -u TABLE_NAME \
  PORT="$api_port" DIRECTORY_PORT="$directory_port" DYNAMODB_ENDPOINT="$ddb_endpoint" \
  TABLE_NAME="$table" LOCAL_STATE_DIR="$STATE" ADMIN_PASSWORD="$admin_password" \
  MAIL_FOLDER="$STATE/mail" DEAD_LETTER_FOLDER="$STATE/dead-letters" \
  "$server_bin" >"$STATE/server.log" 2>&1 &
server_pid=$!

echo "waiting for $BASE (log: ${STATE#"$ROOT"/}/server.log)" >&2
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

# call METHOD PATH BODY: curl with the administrator's token; prints the status.
call() {
  curl --noproxy '*' -s -o "$STATE/answer.json" -w '%{http_code}' -X "$1" "$BASE$2" \
    -H 'Content-Type: application/json' -H "X-Auth-Token: $token" -d "$3"
}

step "log in as admin"
login_body="$(printf '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "%s", "domain": {"name": "local"}}}}, "scope": {"domain": {"name": "local"}}}}' "$admin_password")"
token="$(curl --noproxy '*' -s -D - -o /dev/null "$BASE/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d "$login_body" | awk -F': ' 'tolower($1) == "x-subject-token" {print $2}' | tr -d '\r')"
[ -n "$token" ] || die "the administrator's login answered no X-Subject-Token"

# The users the document's examples name (the README's walkthrough), so that the examples phase
# also reaches the successful answers.
step "users the examples name"
status="$(call POST /identity/v1/user/create '{"user_id": "dkang@mz.co.kr", "name": "Dong Yoo kang",
  "email": "dkang@mz.co.kr", "password": "IAMPassword@", "backend": "LOCAL", "domain_id": "local"}')"
[ "$status" = 200 ] || die "creating dkang@mz.co.kr answered $status: $(cat "$STATE/answer.json")"
status="$(call POST /identity/v1/user/create '{"user_id": "ykim@mz.co.kr", "name": "Yuna Kim",
  "email": "ykim@mz.co.kr", "password": "IAMPassword@", "backend": "LOCAL", "domain_id": "local"}')"
[ "$status" = 200 ] || die "creating ykim@mz.co.kr answered $status: $(cat "$STATE/answer.json")"
status="$(call POST /identity/v1/user/create '{"user_id": "jkim@directory.example", "backend": "EXTERNAL", "domain_id": "local"}')"
[ "$status" = 200 ] || die "creating jkim@directory.example answered $status: $(cat "$STATE/answer.json")"
echo "dkang@mz.co.kr, ykim@mz.co.kr (LOCAL), jkim@directory.example (EXTERNAL)" >&2

# Schemathesis learns values from answers (the administrator's id among them) and would then lock,
# re-password or require a password change of the very administrator whose token it uses, leaving
# the rest of the run to 403s. Its cases that name the administrator as their target are dropped.
cat >"$STATE/hooks.py" <<'PY'
import schemathesis

ADMINISTRATOR = "admin"


def _is_administrator(value):
    return isinstance(value, str) and value.strip().casefold() == ADMINISTRATOR


@schemathesis.hook
def filter_case(context, case):
    if any(_is_administrator(v) for v in (case.path_parameters or {}).values()):
        return False
    body = case.body
    return not (isinstance(body, dict) and _is_administrator(body.get("user_id")))
PY
export SCHEMATHESIS_HOOKS="$STATE/hooks.py"
# The token goes to schemathesis through its environment, not its command line (`ps` shows that).
cat >"$STATE/schemathesis.toml" <<'TOML'
headers = { "X-Auth-Token" = "${OPENAPI_CHECK_TOKEN}" }
TOML

step "schemathesis $SCHEMATHESIS_VERSION against $BASE"
st_args=(
  --config-file "$STATE/schemathesis.toml"
  run "$SPEC"
  --url "$BASE"
  --checks "$CHECKS"
  --phases "$PHASES"
  --max-examples "$MAX_EXAMPLES"
  --workers "$WORKERS"
  --generation-with-security-parameters false
  --generation-database none
  --request-timeout 30
  --suppress-health-check all
  --no-color
)
if [ -n "${OPENAPI_CHECK_SEED:-}" ]; then
  st_args+=(--seed "$OPENAPI_CHECK_SEED")
fi
started=$SECONDS
# In the background, so that an interrupt stops it at once (bash runs traps only between commands).
(cd "$STATE" && OPENAPI_CHECK_TOKEN="$token" exec timeout "$ST_TIMEOUT" "$st_bin/st" "${st_args[@]}") &
st_pid=$!
st_status=0
wait "$st_pid" || st_status=$?
st_pid=""
echo "schemathesis took $((SECONDS - started)) s" >&2
# What the server itself saw, from its access lines.
python3 - "$STATE/server.log" <<'PY' >&2 || true
import collections, json, sys
classes = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if '"target":"access"' in line:
        classes[f"{json.loads(line)['status'] // 100}xx"] += 1
print("the server answered", sum(classes.values()), "requests:",
      ", ".join(f"{k} {v}" for k, v in sorted(classes.items())))
PY

if ! kill -0 "$server_pid" 2>/dev/null; then
  tail -n 30 "$STATE/server.log" >&2 || true
  die "the local server died during the run"
fi
if [ "$st_status" = 124 ]; then
  die "schemathesis did not finish within $ST_TIMEOUT s"
fi
if [ "$st_status" != 0 ]; then
  die "schemathesis found answers that contradict docs/openapi.yaml (exit $st_status; server log: ${STATE#"$ROOT"/}/server.log)"
fi
echo "docs/openapi.yaml: valid, and the local server conforms to it" >&2
