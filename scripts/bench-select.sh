#!/usr/bin/env bash
# `codeblock select` end to end against the plain-Python implementation (../shared/anchors/py_select)
# on the same ≥ 10k pairs in one run (tools/bench/select_vs_python.py). Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p codeblock
python3 tools/bench/select_vs_python.py "$CARGO_TARGET_DIR/release/codeblock" "$CODEBLOCK_TOKENIZER"
