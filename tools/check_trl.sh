#!/usr/bin/env bash
# TRL's SFTTrainer (CPU, a tiny random model of Qwen3's vocabulary, 2 steps) on a `codeblock
# export --format trl` Parquet of MBPP's training pairs; checks that the tokens carrying its loss
# are our supervised tokens plus one end token a row. Not in CI: PyTorch's wheels are gigabytes
# (scripts/trl-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/trl-env.sh
cargo build --quiet -p codeblock
bin="$CARGO_TARGET_DIR/debug/codeblock"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokenizer"
cp "$CODEBLOCK_TOKENIZER" "$work/tokenizer/tokenizer.json"
chatml="{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
printf '{"chat_template": "%s", "eos_token": "<|im_end|>"}' "$chatml" > "$work/tokenizer/tokenizer_config.json"
"$bin" pairs --split train --input "$CODEBLOCK_DATA/mbpp_humaneval_format.jsonl.gz" --out "$work/pairs.jsonl"
"$bin" select --input "$work/pairs.jsonl" --tokenizer "$work/tokenizer/tokenizer.json" --out "$work/selected.jsonl"
"$bin" export --input "$work/selected.jsonl" --model "$work/tokenizer" --format trl --out "$work/train.parquet"
"$CODEBLOCK_TRL_PYTHON" tools/check_trl.py "$work/train.parquet" "$work/tokenizer" "$work/selected.jsonl"
