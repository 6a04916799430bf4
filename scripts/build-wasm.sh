#!/usr/bin/env bash
# Builds the wasm module three ways from one compile: the npm package (wasm/pkg: Node and
# bundlers, with .d.ts types, packed to wasm/pkg/codeblock-wasm-<version>.tgz) and the
# previewer's copy (web/pkg, for browsers); then the previewer's module with the model
# (web/pkg-model: feature `model`, burn on WebGPU or the CPU), loaded only when a user picks a
# GGUF file. Nothing here is committed output. Prints the modules' sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/setup-web.sh

cargo build --profile wasm -p codeblock-wasm --target wasm32-unknown-unknown --locked
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/codeblock_wasm.wasm"

rm -rf wasm/pkg web/pkg web/pkg-model
mkdir -p wasm/pkg
cp wasm/package.json wasm/README.md LICENSE wasm/pkg/
wasm-bindgen --target nodejs --out-dir wasm/pkg/node --out-name codeblock "$wasm"
wasm-bindgen --target bundler --out-dir wasm/pkg/bundler --out-name codeblock "$wasm"
wasm-bindgen --target web --out-dir web/pkg --out-name codeblock "$wasm"

# The three targets share one .wasm: optimise it once (npm binaryen; Debian's breaks it).
optimised=$(mktemp)
"$CODEBLOCK_NODE/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
  --enable-multivalue wasm/pkg/node/codeblock_bg.wasm -o "$optimised"
for out in wasm/pkg/node wasm/pkg/bundler web/pkg; do
  cmp -s wasm/pkg/node/codeblock_bg.wasm "$out/codeblock_bg.wasm" ||
    { echo "build-wasm: $out got a different module" >&2; exit 1; }
done
for out in wasm/pkg/node wasm/pkg/bundler web/pkg; do cp "$optimised" "$out/codeblock_bg.wasm"; done
rm -f "$optimised" wasm/pkg/*/.gitignore web/pkg/.gitignore

(cd wasm/pkg && npm pack --silent >/dev/null)

# The model module: release, not size-optimised (wasm-opt takes minutes on it, for half the size).
cargo build --release -p codeblock-wasm --features model --target wasm32-unknown-unknown --locked
wasm-bindgen --target web --out-dir web/pkg-model --out-name codeblock \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/codeblock_wasm.wasm"
rm -f web/pkg-model/.gitignore
bytes=$(stat -c %s web/pkg/codeblock_bg.wasm)
gzipped=$(gzip -9 -c web/pkg/codeblock_bg.wasm | wc -c)
echo "wasm module: $bytes bytes after wasm-opt -Oz ($gzipped gzipped); package: $(ls wasm/pkg/*.tgz)"
echo "with the model: $(stat -c %s web/pkg-model/codeblock_bg.wasm) bytes (web/pkg-model)"
