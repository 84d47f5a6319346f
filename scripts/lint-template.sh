#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`, and the example templates in examples/
# (a pipeline's own, using Custom::User) with cfn-lint, each from its own virtualenv under
# .local/ (aws-sam-cli pins an older boto3). Works offline once installed; installs on first use.
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly CFN_LINT_VERSION="1.58.0"
readonly SAM_VERSION="1.170.0"

# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

cfn_bin="$(venv cfn-lint "cfn-lint==$CFN_LINT_VERSION")"
sam_bin="$(venv sam "aws-sam-cli==$SAM_VERSION")"
cd "$ROOT"
echo "cfn-lint template.yaml examples/*.yaml" >&2
"$cfn_bin/cfn-lint" template.yaml examples/*.yaml
echo "sam validate --lint" >&2
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0 "$sam_bin/sam" validate --lint --template template.yaml >&2
echo "template.yaml: cfn-lint and sam validate --lint passed; examples: cfn-lint passed" >&2
