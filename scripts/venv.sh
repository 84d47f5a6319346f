# Sourced by the scripts that need a Python tool: `venv NAME PACKAGE==VERSION [PACKAGE==VERSION ...]`
# makes (or reuses) .local/venv-NAME with exactly those versions installed and prints its bin
# directory. Each tool gets its own virtualenv (aws-sam-cli pins an older boto3); packages that must
# work together (a client library and its plug-ins) share one.
venv() {
  local dir="$ROOT/.local/venv-$1" spec ok=1
  shift
  # grep reads all of pip's answer (no -q): an early exit would fail the pipe under pipefail.
  if [ ! -x "$dir/bin/python" ]; then
    ok=0
  else
    for spec in "$@"; do
      if ! "$dir/bin/pip" show "${spec%%==*}" 2>/dev/null | grep -x "Version: ${spec##*==}" >/dev/null; then
        ok=0
        break
      fi
    done
  fi
  if [ "$ok" = 0 ]; then
    echo "installing $* into .local/venv-${dir##*/venv-}" >&2
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  fi
  echo "$dir/bin"
}
