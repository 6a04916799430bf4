#!/usr/bin/env bash
# Everything CI checks, from a clean clone: set-up, formatting, lints (host and wasm32: the
# module with and without the model, and the light editor module), the wasm32 build of core, and
# all tests: unit, fixture snapshots, CLI, the model tier on the real SmolLM2 (CPU and wgpu on
# software Vulkan); the exports read back in Python (Hugging Face datasets, tokenizers); then the
# wasm modules and npm package (scripts/build-wasm.sh), their Node tests (parity with native, the
# packed tarball) and the previewer page in headless Chromium.
set -euo pipefail  # pipefail: a failing cargo test fails the script through tee
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/setup-web.sh
source scripts/python-env.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p codeblock-core --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p codeblock-core --features model --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p codeblock-wasm --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p codeblock-wasm --no-default-features --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p codeblock-wasm --features model --target wasm32-unknown-unknown --locked -- -D warnings
cargo build -p codeblock-core --target wasm32-unknown-unknown --locked
# CI=true makes insta fail on any snapshot mismatch instead of writing .snap.new files.
log=$(mktemp)
CI=true cargo test --workspace --locked 2>&1 | tee "$log"
# The GPU bench's script as CI can run it: lavapipe, the tiny shape, its JSON of figures.
gpu_report=$(mktemp)
CODEBLOCK_BENCH_PROFILE=dev bash scripts/bench-gpu.sh "$gpu_report"
python3 -c 'import json, sys; shapes = json.load(open(sys.argv[1]))["shapes"]
assert shapes and all(v > 0 for s in shapes for v in s["codeblock"].values()), shapes' "$gpu_report"
rm -f "$gpu_report"
# The Python package as users get it: a release wheel, installed into the test venv.
wheels=$(mktemp -d)
"$CODEBLOCK_PYTHON_ENV/bin/maturin" build --quiet --release -m python/Cargo.toml --out "$wheels"
"$CODEBLOCK_PYTHON_ENV/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/codeblock-*.whl
rm -rf "$wheels"
CODEBLOCK_BIN="$CARGO_TARGET_DIR/debug/codeblock" "$CODEBLOCK_PYTHON_ENV/bin/python" -m pytest -q -p no:cacheprovider \
  tests/python 2>&1 | tee -a "$log"
bash scripts/build-wasm.sh
# The screenshot of the browser test lands in out/ (CODEBLOCK_ARTIFACTS to change).
CODEBLOCK_BIN="$CARGO_TARGET_DIR/debug/codeblock" node --test --test-reporter=tap tests/node/ tests/web/ 2>&1 | tee -a "$log"
# Close with the totals of every cargo test binary, pytest ("2 failed, 4 passed in 9s") and Node.
awk '/^test result:/ { passed += $4; failed += $6 } /^# pass / { passed += $3 } /^# fail / { failed += $3 }
  /^[0-9]+ (passed|failed)/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) passed += $i; if ($(i+1) ~ /^failed/) failed += $i } }
  END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
rm -f "$log"
