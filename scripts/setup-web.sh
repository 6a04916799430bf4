#!/usr/bin/env bash
# Set-up for the wasm module, the previewer page and its browser test, on top of setup.sh:
# wasm-bindgen-cli at the crate's exact version, npm binaryen (its wasm-opt; Debian's breaks
# wasm-bindgen output) and playwright-core, cached outside the clone, and Debian's chromium.
# Sourced, not run: it exports CODEBLOCK_NODE and CODEBLOCK_CHROMIUM.
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130  # = the wasm-bindgen crate in Cargo.lock
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"  # not --locked: see TOOLCHAIN.md
fi

export CODEBLOCK_NODE="$CODEBLOCK_CACHE/node"
mkdir -p "$CODEBLOCK_NODE"
for package in binaryen@132.0.0 playwright-core@1.65.1; do
  name=${package%@*}
  version=${package##*@}
  installed=$(node -p "require('$CODEBLOCK_NODE/node_modules/$name/package.json').version" 2>/dev/null || true)
  [ "$installed" = "$version" ] ||
    npm install --silent --no-audit --no-fund --prefix "$CODEBLOCK_NODE" "$package" >/dev/null
done

export CODEBLOCK_CHROMIUM="${CODEBLOCK_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CODEBLOCK_CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "setup-web: chromium is missing; install it (Debian: sudo apt-get install chromium)" >&2
    exit 1
  fi
fi
