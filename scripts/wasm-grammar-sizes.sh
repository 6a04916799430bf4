#!/usr/bin/env bash
# What each grammar adds to a wasm module: the light editor module (`partition`, no tokenizer)
# built with one language feature at a time, after the same wasm-bindgen and `wasm-opt -Oz` as
# scripts/build-wasm.sh, against the light module with Python alone. Prints one line a grammar.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/setup-web.sh

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# light_module_bytes FEATURES: the optimised light module's size with those features.
light_module_bytes() {
  cargo build --profile wasm -p codeblock-wasm --no-default-features --features "$1" \
    --target wasm32-unknown-unknown --locked 2>/dev/null
  wasm-bindgen --target web --out-dir "$scratch" --out-name codeblock \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/codeblock_wasm.wasm"
  "$CODEBLOCK_NODE/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
    --enable-multivalue "$scratch/codeblock_bg.wasm" -o "$scratch/optimised.wasm"
  stat -c %s "$scratch/optimised.wasm"
}

python=$(light_module_bytes "")
echo "light module, Python alone: $python bytes"
for grammar in javascript typescript java go rust languages; do
  bytes=$(light_module_bytes "$grammar")
  echo "  + $grammar: $bytes bytes (+$(( (bytes - python) / 1024 )) KiB)"
done
