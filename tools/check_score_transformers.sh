#!/usr/bin/env bash
# tools/score_transformers.py end to end, on the CPU: SmolLM2 (our GGUF, exported by `codeblock
# train --export` as a Hugging Face folder) scores MBPP pairs in transformers; `codeblock select
# --scores` reads that file with the folder's tokenizer. Checks that every record's ids line up
# (no `scores_mismatch`) and prints how alike the selection is to the one made with our own
# scorer on the same folder (`codeblock compare`). Not in CI: PyTorch (scripts/trl-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/trl-env.sh
cargo build --quiet -p codeblock
bin="$CARGO_TARGET_DIR/debug/codeblock"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" pairs --split train --input "$CODEBLOCK_DATA/mbpp_humaneval_format.jsonl.gz" --out "$work/all.jsonl"
head -n "${CHECK_PAIRS:-40}" "$work/all.jsonl" > "$work/pairs.jsonl"
# One step at lr 0 exports the GGUF's weights (dequantized) as a Hugging Face checkpoint.
"$bin" select --input "$work/pairs.jsonl" --tokenizer "$CODEBLOCK_MODEL" --out "$work/for-export.jsonl"
"$bin" train --model "$CODEBLOCK_MODEL" --data "$work/for-export.jsonl" --device cpu --max-steps 1 --lr 0 \
  --checkpoint-every 0 --export --out "$work/run" > /dev/null
model="$work/run/final"
PYTHONPATH=tools "$CODEBLOCK_TRL_PYTHON" tools/score_transformers.py --model "$model" --input "$work/pairs.jsonl" \
  --out "$work/scores.jsonl" --device cpu
"$bin" select --input "$work/pairs.jsonl" --scores "$work/scores.jsonl" --tokenizer "$model/tokenizer.json" \
  --out "$work/by-transformers.jsonl"
"$bin" select --input "$work/pairs.jsonl" --model "$model" --device cpu --out "$work/by-codeblock.jsonl"
mismatched=$(grep -c '"scores_mismatch"' "$work/by-transformers.jsonl" || true)
echo "records: $(wc -l < "$work/pairs.jsonl"); scores_mismatch rejects: $mismatched"
"$bin" compare "$work/by-transformers.jsonl" "$work/by-codeblock.jsonl"
[ "$mismatched" = 0 ]
