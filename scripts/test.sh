#!/usr/bin/env bash
# Everything CI checks, from a clean clone: set-up, formatting, lints (host and wasm32, with and
# without the model), the wasm32 build of core, and all tests: unit, fixture snapshots, CLI, and
# the model tier on the real SmolLM2 (CPU and wgpu on software Vulkan).
set -euo pipefail  # pipefail: a failing cargo test fails the script through tee
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p codeblock-core --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p codeblock-core --features model --target wasm32-unknown-unknown --locked -- -D warnings
cargo build -p codeblock-core --target wasm32-unknown-unknown --locked
# CI=true makes insta fail on any snapshot mismatch instead of writing .snap.new files.
log=$(mktemp)
CI=true cargo test --workspace --locked 2>&1 | tee "$log"
# cargo's last line is the (empty) doc-test run; close with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
rm -f "$log"
