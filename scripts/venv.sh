# Sourced by the scripts that need a Python tool: `venv NAME PACKAGE==VERSION` makes (or reuses)
# .local/venv-NAME with exactly that version installed and prints its bin directory. Each tool gets
# its own virtualenv (aws-sam-cli pins an older boto3).
venv() {
  local dir="$ROOT/.local/venv-$1"
  # grep reads all of pip's answer (no -q): an early exit would fail the pipe under pipefail.
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/pip" show "${2%%==*}" 2>/dev/null | grep -x "Version: ${2##*==}" >/dev/null; then
    echo "installing $2 into .local/venv-$1" >&2
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$2" >&2
  fi
  echo "$dir/bin"
}
