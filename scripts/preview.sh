#!/usr/bin/env bash
# Opens the block-mask previewer: builds the wasm module and the `codeblock` binary, then serves
# web/ on http://127.0.0.1:8080/ (PORT=... to change). Everything runs in your browser.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
source scripts/setup.sh
cargo build --locked -p codeblock
exec "$CARGO_TARGET_DIR/debug/codeblock" serve --dir web --port "${PORT:-8080}"
