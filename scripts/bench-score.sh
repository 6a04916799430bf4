#!/usr/bin/env bash
# The scoring bench with its PyTorch side: SmolLM2-135M scoring throughput on the CPU, ours and
# PyTorch's in the same run, their ratio, and peak memory (native/benches/score.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/torch-env.sh
cargo bench --locked -p codeblock --bench score
