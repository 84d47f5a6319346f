#!/usr/bin/env bash
# Runs one function once on one event against the running local stack (scripts/local.sh), as
# `sam local invoke` would, without Docker: the function's log lines on stderr, its answer on stdout,
# exit status 1 when it fails or answers 5xx, 2 when the event cannot be run.
#
#   scripts/invoke.sh FUNCTION [EVENT_FILE]     FUNCTION: spaceone_user_get, SpaceOneUserGetFunction
#                                               or user_get; EVENT_FILE: events/FUNCTION.json
#   scripts/invoke.sh --print-event FUNCTION [EVENT_FILE]
#                                               prints the filled event (for sam local invoke -e)
#
# Placeholders: {{DOMAIN_ID}} the stack's tenant `local`, {{TOKEN}} a fresh token of its `admin`,
# {{PASSWORD}} ADMIN_PASSWORD (asked for on a terminal), {{VERIFY_CODE}} the newest code in the
# stack's mail folder for the event's user; the notifier's message, CloudFormation's response URL
# and the rotated secret come from listeners this script runs on 127.0.0.1.
#   LOCAL_STATE_DIR=.local   the stack's state folder (where scripts/local.sh keeps it)
# The function and its event are resolved by the tool itself (tests/src/bin/invoke.rs).
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

args=()
positional=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    --print-event) args+=("$arg") ;;
    *)
      positional=$((positional + 1))
      # The event file is the caller's path, not the repository's (the tool runs from the root).
      if [ "$positional" = 2 ]; then arg="$(realpath -m -- "$arg")"; fi
      args+=("$arg")
      ;;
  esac
done
[ "$#" -gt 0 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
[ -z "${LOCAL_STATE_DIR:-}" ] || LOCAL_STATE_DIR="$(realpath -m -- "$LOCAL_STATE_DIR")"
[ -z "${INVOKE_BIN:-}" ] || INVOKE_BIN="$(realpath -m -- "$INVOKE_BIN")"
cd "$ROOT"
export LOCAL_STATE_DIR="${LOCAL_STATE_DIR:-$ROOT/.local}"
# INVOKE_BIN: an invoke binary built already (the test suite's); else built here, as local.sh does.
if [ -z "${INVOKE_BIN:-}" ]; then
  cargo build --quiet -p local-stack --bin invoke || exit 2
  INVOKE_BIN="$ROOT/target/debug/invoke"
fi
exec "$INVOKE_BIN" "${args[@]}"
