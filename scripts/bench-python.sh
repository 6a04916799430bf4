#!/usr/bin/env bash
# Selection at scale from Python, side by side with the binary in one run (tools/bench/select_python.py):
# records/s and peak RSS of `codeblock select`, `select_dataset` at 1 and 2 processes, and Ray's
# local mode, on ≥ 100k records. Builds the release binary and wheel first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/python-env.sh
cargo build --quiet --release -p codeblock
wheels=$(mktemp -d)
"$CODEBLOCK_PYTHON_ENV/bin/maturin" build --quiet --release -m python/Cargo.toml --out "$wheels"
"$CODEBLOCK_PYTHON_ENV/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/codeblock-*.whl
work=$(mktemp -d)
trap 'rm -rf "$wheels" "$work"' EXIT
"$CODEBLOCK_PYTHON_ENV/bin/python" tools/bench/select_python.py "$CARGO_TARGET_DIR/release/codeblock" "$CODEBLOCK_TOKENIZER" "$work"
