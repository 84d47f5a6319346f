#!/usr/bin/env bash
# The vendors' own client libraries against the local server (issue 31): keystoneauth1 and
# python-keystoneclient, huaweicloudsdkiam and huaweicloudsdkworkspace (with huaweicloudsdkcore),
# and spaceone-api's identity v1 messages in a 1.12.x and the newest 2.0.x release, each pinned and
# installed from PyPI into its own .local/venv-conformance-* on first use. The checks
# (tests/conformance/*.py) drive each library as a client would, against a fresh tenant `local` in
# a table of their own, on a free port of 127.0.0.1, state under .local/conformance/ (mail folder,
# external directory, server log); one line per check (PASS / FAIL library name: reason), a tally
# per library, and a non-zero exit on any failure. RSA publishes no client library: its contract
# is the Rust tests'. Never touches a developer's own local stack (port 3000, table useradmin-local,
# .local/mail); nothing it starts reaches past 127.0.0.1. A few seconds, plus the first installs.
#
#   DYNAMODB_ENDPOINT=http://127.0.0.1:PORT   use this DynamoDB Local (scripts/test.sh exports it);
#                                             else an in-memory one is started on a free port and
#                                             stopped at the end
#   CONFORMANCE_ONLY=keystone,huaweicloud,spaceone-1.12,spaceone-2.0
#                                             run only these libraries' checks (default: all)
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
# The libraries under test, pinned. keystoneclient 6.0.0 is the release beside keystoneauth1
# 5.18.1; the three Huawei packages are released together. spaceone-api declares no dependencies:
# its generated code (protoc 5.26.1) needs protobuf 5.26 or later, and googleapis-common-protos for
# google/api/annotations (the routes of the methods).
readonly KEYSTONE=(keystoneauth1==5.18.1 python-keystoneclient==6.0.0)
readonly HUAWEICLOUD=(huaweicloudsdkcore==3.1.219 huaweicloudsdkiam==3.1.219 huaweicloudsdkworkspace==3.1.219)
readonly PROTOBUF=(protobuf==5.29.6 googleapis-common-protos==1.70.0)
readonly SPACEONE_1_12="spaceone-api==1.12.54"
readonly SPACEONE_2_0="spaceone-api==2.0.435"
readonly STATE="$ROOT/.local/conformance"
readonly ONLY="${CONFORMANCE_ONLY:-keystone,huaweicloud,spaceone-1.12,spaceone-2.0}"
# Each library's checks are cut off after this many seconds (a hung server must not hang CI).
readonly SUITE_TIMEOUT=300

# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"
# shellcheck source=scripts/local-server.sh
source "$ROOT/scripts/local-server.sh"

step() { printf '\n==> %s\n' "$*" >&2; }
die() {
  printf 'conformance: %s\n' "$*" >&2
  exit 1
}
wanted() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac }

# Nothing here may go through a proxy: every request is for 127.0.0.1.
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy ALL_PROXY all_proxy
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

declare -A suite_bin=()
wanted keystone && suite_bin[keystone]="$(venv conformance-keystone "${KEYSTONE[@]}")"
wanted huaweicloud && suite_bin[huaweicloud]="$(venv conformance-huaweicloud "${HUAWEICLOUD[@]}")"
wanted spaceone-1.12 && suite_bin[spaceone-1.12]="$(venv conformance-spaceone-1.12 "$SPACEONE_1_12" "${PROTOBUF[@]}")"
wanted spaceone-2.0 && suite_bin[spaceone-2.0]="$(venv conformance-spaceone-2.0 "$SPACEONE_2_0" "${PROTOBUF[@]}")"
((${#suite_bin[@]} > 0)) || die "CONFORMANCE_ONLY=$ONLY names no library"
cd "$ROOT"

rm -rf -- "$STATE"
mkdir -p "$STATE"
# The run's own external directory (the server re-reads it on every request; the SpaceONE checks
# add their users to it), so that scripts/sample-directory.json is never written.
cp scripts/sample-directory.json "$STATE/directory.json"
start_local_server conformance SAMPLE_DIRECTORY="$STATE/directory.json"

# The checks' settings go through their environment (the password never on a command line).
export CONFORMANCE_BASE="$BASE" CONFORMANCE_TENANT=local CONFORMANCE_ADMIN=admin \
  CONFORMANCE_ADMIN_PASSWORD="$admin_password" CONFORMANCE_MAIL_FOLDER="$STATE/mail" \
  CONFORMANCE_DIRECTORY_FILE="$STATE/directory.json" CONFORMANCE_RUN="$$"
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

tallies=()
failed=()
run_suite() { # NAME SCRIPT
  local name="$1" script="$2" status=0
  wanted "$name" || return 0
  step "$name: tests/conformance/$script"
  # In the background, so that an interrupt stops it at once (bash runs traps only between
  # commands); its lines are shown when it ends (a few seconds).
  (cd "$ROOT/tests/conformance" && exec timeout "$SUITE_TIMEOUT" "${suite_bin[$name]}/python" "$script") \
    >"$STATE/$name.out" 2>"$STATE/$name.stderr" &
  client_pid=$!
  wait "$client_pid" || status=$?
  client_pid=""
  cat "$STATE/$name.out"
  local tally
  tally="$(grep -E '^[^ ].*: [0-9]+/[0-9]+ passed$' "$STATE/$name.out" | tail -n 1 || true)"
  if [ -z "$tally" ]; then
    tail -n 20 "$STATE/$name.stderr" >&2 || true
    tally="$name: did not finish (exit $status; stderr: ${STATE#"$ROOT"/}/$name.stderr)"
    failed+=("$name")
  elif [ "$status" != 0 ] || grep -q '^FAIL ' "$STATE/$name.out"; then
    failed+=("$name")
  fi
  tallies+=("$tally")
}
started=$SECONDS
run_suite keystone keystone_checks.py
run_suite huaweicloud huaweicloud_checks.py
run_suite spaceone-1.12 spaceone_checks.py
run_suite spaceone-2.0 spaceone_checks.py

if ! kill -0 "$server_pid" 2>/dev/null; then
  tail -n 30 "$STATE/server.log" >&2 || true
  die "the local server died during the run"
fi
step "tally ($((SECONDS - started)) s; server log: ${STATE#"$ROOT"/}/server.log)"
printf '%s\n' "${tallies[@]}"
if ((${#failed[@]} > 0)); then
  die "the client libraries found answers they cannot take: ${failed[*]}"
fi
echo "every client library's checks passed" >&2
