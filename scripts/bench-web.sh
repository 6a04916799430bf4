#!/usr/bin/env bash
# The browser bench: partition + select time of a 200-line response in headless Chromium, and
# the wasm modules' sizes, and what each grammar adds. Builds the modules and the `codeblock`
# binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
source scripts/setup.sh
source scripts/setup-web.sh
cargo build --locked -p codeblock
CODEBLOCK_BIN="$CARGO_TARGET_DIR/debug/codeblock" node tests/web/bench.mjs
bash scripts/wasm-grammar-sizes.sh
