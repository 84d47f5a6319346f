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
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

print=()
if [ "${1:-}" = --print-event ]; then
  print=(--print-event)
  shift
fi
case "${1:-}" in
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  "") sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
function="$1"
# Paths the caller gave are theirs, not the repository's.
event="${2:+$(realpath -m -- "$2")}"
[ -z "${LOCAL_STATE_DIR:-}" ] || LOCAL_STATE_DIR="$(realpath -m -- "$LOCAL_STATE_DIR")"
[ -z "${INVOKE_BIN:-}" ] || INVOKE_BIN="$(realpath -m -- "$INVOKE_BIN")"
cd "$ROOT"

# A template resource name stands for its function's directory; so does the end of one directory's
# name (user_get: spaceone_user_get, the name before functions were named by vendor).
if [[ "$function" == *Function ]]; then
  directory="$(grep -A8 "^  $function:" template.yaml | sed -n 's|^ *CodeUri: functions/\([a-z_]*\).*|\1|p' | head -n 1)"
  function="${directory:-$function}"
elif [ ! -d "functions/$function" ]; then
  shopt -s nullglob
  matches=(functions/*_"$function")
  if [ "${#matches[@]}" = 1 ]; then
    echo "invoke.sh: $function is ${matches[0]}" >&2
    function="${matches[0]#functions/}"
  elif [ "${#matches[@]}" -gt 1 ]; then
    echo "invoke.sh: $function could be any of ${matches[*]#functions/}: name one" >&2
    exit 2
  fi
fi
if [ ! -d "functions/$function" ]; then
  echo "invoke.sh: no function $function; one of: $(cd functions && echo *)" >&2
  exit 2
fi
event="${event:-$ROOT/events/$function.json}"
[ -f "$event" ] || { echo "invoke.sh: no event file $event" >&2; exit 2; }

if grep -q '{{PASSWORD}}' "$event" && [ -z "${ADMIN_PASSWORD:-}" ] && [ -t 0 ]; then
  IFS= read -r -s -p "the local administrator's password (ADMIN_PASSWORD): " ADMIN_PASSWORD
  echo >&2
  export ADMIN_PASSWORD
fi

export LOCAL_STATE_DIR="${LOCAL_STATE_DIR:-$ROOT/.local}"
# INVOKE_BIN: an invoke binary built already (the test suite's); else built here, as local.sh does.
if [ -z "${INVOKE_BIN:-}" ]; then
  cargo build --quiet -p local-stack --bin invoke || exit 2
  INVOKE_BIN="$ROOT/target/debug/invoke"
fi
exec "$INVOKE_BIN" "${print[@]}" "$function" "$event"
