#!/usr/bin/env bash
# e2 from a clean clone, or on from where it stopped: the pool's set-up, then the one
# `codeblock experiment` command of experiments/README.md (finished stages, committed or on disk,
# are not redone). It runs at a low priority, so a session's builds and tests go first.
# Usage: bash scripts/e2.sh   (in the background: nohup bash scripts/e2.sh > e2.log 2>&1 &)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -e experiments/e2/pool/pool.jsonl ] || bash scripts/setup-pool.sh
source scripts/setup.sh
cargo build --release --locked --bin codeblock
# The experiment re-runs its own binary for each stage; a private copy keeps a later release
# build (a bench, say) from replacing that binary under a running e2.
cp "$CARGO_TARGET_DIR/release/codeblock" "$CARGO_TARGET_DIR/e2-codeblock"
exec nice -n 10 "$CARGO_TARGET_DIR/e2-codeblock" experiment --model "$CODEBLOCK_MODEL" \
  --train experiments/e2/pool/pool.jsonl --curate 100 \
  --eval humaneval,mbpp-plus --validate mbpp-validation \
  --modes full,token-cleaning,codeblock,random,random-items,codeblock-no-dataflow,full-pool \
  --seeds 3 --seeded full,codeblock,random --sweep 3e-5,1e-4,3e-4,lora16:1e-3 \
  --steps 40 --batch-tokens 2048 --grad-accum 1 --max-length 1536 --checkpoint-every 10 \
  --max-tokens 512 --eval-batch 16 --device cpu --out experiments/e2
