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
# shellcheck source=scripts/local-server.sh
source "$ROOT/scripts/local-server.sh"

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

rm -rf -- "$STATE"
mkdir -p "$STATE"
# The server's own sample directory answers find/sync.
start_local_server openapi

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
client_pid=$!
st_status=0
wait "$client_pid" || st_status=$?
client_pid=""
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
