#!/usr/bin/env bash
# The model benches on a GPU against PyTorch on the same GPU, in one run, with randomly
# initialised models of real shapes, so only the repository is needed (native/benches/gpu.rs,
# tools/bench/torch_shapes.py). On a machine where `nvidia-smi` sees a GPU: burn's CUDA backend,
# SmolLM2-135M's and Qwen2.5-Coder-1.5B's shapes. Elsewhere: wgpu (lavapipe here) and the tiny
# shape, which is how CI runs it. Writes the figures and ratios to out/bench-gpu.json (or $1).
# Options after the file name go to the bench: e.g. `--device cuda:1 --shapes tiny`.
# CODEBLOCK_BENCH_PROFILE=dev builds it unoptimised (CI: the test build's dependencies serve).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codeblock/target}"
out="${1:-out/bench-gpu.json}"
mkdir -p "$(dirname "$out")"
shift || true
if nvidia-smi -L >/dev/null 2>&1; then
  options=(--features cuda -- --device cuda --shapes smollm2-135m,qwen2.5-coder-1.5b)
else
  # Software Vulkan wants a runtime directory.
  [ -d "${XDG_RUNTIME_DIR:-}" ] || { export XDG_RUNTIME_DIR="$(mktemp -d)"; chmod 700 "$XDG_RUNTIME_DIR"; }
  options=(-- --device wgpu --shapes tiny)
fi
case "${CODEBLOCK_BENCH_PROFILE:-bench}" in
  bench) run=(cargo bench) ;;
  dev) run=(cargo test) ;;
  *) echo "bench-gpu: CODEBLOCK_BENCH_PROFILE is bench or dev" >&2; exit 2 ;;
esac
"${run[@]}" --locked -p codeblock --bench gpu "${options[@]}" --out "$out" "$@"
echo "bench-gpu: wrote $out"
