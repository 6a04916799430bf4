#!/usr/bin/env bash
# `codeblock select` at 10k, 100k and 1M records (or the sizes given), one thread and all cores
# (or the counts in `--threads 1,2`): records/s and peak memory, side by side in one run
# (tools/bench/select_scaling.py). The 1M run needs about 8 GB of free disk beside the working
# directory (input, spill and output).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --quiet --release -p codeblock
python3 tools/bench/select_scaling.py "$CARGO_TARGET_DIR/release/codeblock" "$CODEBLOCK_TOKENIZER" "$@"
