#!/usr/bin/env bash
# The main job on the embedded default: MBPP's training split (tasks 601-974) as
# instruction/response pairs, scored by the real default model (SmolLM2-135M-Instruct, with its
# own tokenizer and chat template) and selected; then one record previewed in the terminal.
# Outputs go to out/. Set CODEBLOCK_DEMO_DEVICE=wgpu to score on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

data="${CODEBLOCK_DATA:-../shared/data}/mbpp_humaneval_format.jsonl.gz"
[ -f "$data" ] || { echo "demo: $data not found; set CODEBLOCK_DATA to the folder holding it" >&2; exit 1; }
# The dev profile (CPU kernels optimised, see Cargo.toml) shares its build with the tests.
cargo build --locked -p codeblock
codeblock="$CARGO_TARGET_DIR/debug/codeblock"
mkdir -p out
"$codeblock" pairs --input "$data" --split train --out out/mbpp-train.jsonl
"$codeblock" select --input out/mbpp-train.jsonl --model "$CODEBLOCK_MODEL" \
  --device "${CODEBLOCK_DEMO_DEVICE:-auto}" --out out/selected.jsonl --report out/report.json
"$codeblock" show out/selected.jsonl --id MBPP/700
"$codeblock" show out/selected.jsonl --id MBPP/700 --format html --out out/MBPP-700.html
echo "preview page: out/MBPP-700.html"
