#!/bin/sh
# clang for wasm32 with tree-sitter's libc-subset headers (vendored from the MIT-licensed
# tree-sitter-language crate, wasm/include): tree-sitter-python's build script does not add them.
exec clang -isystem "$(dirname "$0")/ts-wasm-include" "$@"
