#!/usr/bin/env bash
# Builds the whole bundle the way `sam build` does for a deployment (BuildMethod rust-cargolambda:
# `cargo lambda build --release --arm64` per function), so that a broken build recipe never lands.
# cargo-lambda (with its zig cross-linker) and aws-sam-cli come from PyPI into .local/. Prints each
# function's stripped binary and zipped size.
#
# The arm64 standard library comes from `rustup target add aarch64-unknown-linux-gnu`; where that is
# refused, the same recipe builds for x86_64 from a copy of the template with that architecture, and
# says so.
#
#   SAM_BUILD_DIR=.local/sam-build   where the artefacts go
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
readonly CARGO_LAMBDA_VERSION="1.9.2"
readonly SAM_VERSION="1.170.0"
BUILD_DIR="${SAM_BUILD_DIR:-$ROOT/.local/sam-build}"

# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

lambda_bin="$(venv cargo-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION")"
sam_bin="$(venv sam "aws-sam-cli==$SAM_VERSION")"
export PATH="$lambda_bin:$PATH" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0

template="$ROOT/template.yaml"
arch=arm64
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  && ! rustup target add aarch64-unknown-linux-gnu >&2; then
  echo "the aarch64 standard library is not available here: building x86_64 with the same recipe" >&2
  arch=x86_64
  template="$ROOT/.local/template-x86_64.yaml"
  sed 's/^      - arm64$/      - x86_64/' "$ROOT/template.yaml" > "$template"
fi

started=$(date +%s)
rm -rf "$BUILD_DIR"
"$sam_bin/sam" build --template "$template" --build-dir "$BUILD_DIR" >&2
echo "sam build ($arch): $(( $(date +%s) - started )) s" >&2

printf '%-28s %12s %12s\n' function stripped zipped >&2
for dir in "$BUILD_DIR"/*Function; do
  binary="$dir/bootstrap"
  [ -f "$binary" ] || { echo "no bootstrap in $dir" >&2; exit 1; }
  zipped=$(cd "$dir" && python3 -c 'import io,sys,zipfile
b=io.BytesIO(); z=zipfile.ZipFile(b,"w",zipfile.ZIP_DEFLATED); z.write("bootstrap"); z.close(); print(len(b.getvalue()))')
  printf '%-28s %12s %12s\n' "$(basename "$dir")" "$(stat -c %s "$binary")" "$zipped" >&2
done
