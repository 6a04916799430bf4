#!/usr/bin/env bash
# Builds the wasm modules, each once, for the npm package (wasm/pkg: Node and bundlers, with
# .d.ts types, packed to wasm/pkg/codeblock-wasm-<version>.tgz) and the previewer (web/, for
# browsers): the whole pipeline for Python (`@codeblock/wasm`, web/pkg); the same with every
# language's grammar (`@codeblock/wasm/languages`, web/pkg-languages: the previewer's); the
# editor's light entry without a tokenizer (`@codeblock/wasm/partition`, web/pkg-partition for
# the browser bench); and the previewer's module with the model and every grammar (web/pkg-model:
# features `model` and `languages`, burn on WebGPU or the CPU), loaded only when a user picks a
# GGUF file. Nothing here is committed output. Prints the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/setup-web.sh

rm -rf wasm/pkg web/pkg web/pkg-languages web/pkg-partition web/pkg-model
mkdir -p wasm/pkg
cp wasm/package.json wasm/README.md LICENSE wasm/pkg/

# build_module FEATURE-FLAGS NPM-DIR WEB-DIR: one compile, bound for Node, bundlers and browsers,
# then one wasm-opt pass (npm binaryen's; Debian's breaks the module) shared by the three.
build_module() {
  local flags=$1 npm=$2 web=$3
  # shellcheck disable=SC2086 # the flags are words
  cargo build --profile wasm -p codeblock-wasm $flags --target wasm32-unknown-unknown --locked
  local wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/codeblock_wasm.wasm"
  wasm-bindgen --target nodejs --out-dir "$npm/node" --out-name codeblock "$wasm"
  wasm-bindgen --target bundler --out-dir "$npm/bundler" --out-name codeblock "$wasm"
  wasm-bindgen --target web --out-dir "$web" --out-name codeblock "$wasm"
  local optimised
  optimised=$(mktemp)
  "$CODEBLOCK_NODE/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
    --enable-multivalue "$npm/node/codeblock_bg.wasm" -o "$optimised"
  for out in "$npm/node" "$npm/bundler" "$web"; do
    cmp -s "$npm/node/codeblock_bg.wasm" "$out/codeblock_bg.wasm" ||
      { echo "build-wasm: $out got a different module" >&2; exit 1; }
  done
  for out in "$npm/node" "$npm/bundler" "$web"; do cp "$optimised" "$out/codeblock_bg.wasm"; done
  rm -f "$optimised" "$npm"/*/.gitignore "$web/.gitignore"
}
build_module "" wasm/pkg web/pkg
build_module "--features languages" wasm/pkg/languages web/pkg-languages
build_module --no-default-features wasm/pkg/partition web/pkg-partition

(cd wasm/pkg && npm pack --silent >/dev/null)

# The model module: release, not size-optimised (wasm-opt takes minutes on it, for half the size).
cargo build --release -p codeblock-wasm --features model,languages --target wasm32-unknown-unknown --locked
wasm-bindgen --target web --out-dir web/pkg-model --out-name codeblock \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/codeblock_wasm.wasm"
rm -f web/pkg-model/.gitignore
for module in web/pkg web/pkg-languages web/pkg-partition; do
  bytes=$(stat -c %s $module/codeblock_bg.wasm)
  echo "wasm module $module: $bytes bytes after wasm-opt -Oz ($(gzip -9 -c $module/codeblock_bg.wasm | wc -c) gzipped)"
done
echo "package: $(ls wasm/pkg/*.tgz)"
echo "with the model: $(stat -c %s web/pkg-model/codeblock_bg.wasm) bytes (web/pkg-model)"
