#!/usr/bin/env bash
# PyTorch and transformers for the comparisons that need them (the scoring bench's PyTorch side,
# tools/reference/transformers_check.py), in a virtual environment cached outside the clone.
# Not part of set-up: torch's Linux wheels pull in gigabytes of CUDA libraries (about two
# minutes to install here). Sourced, not run: it exports CODEBLOCK_PYTHON.
set -euo pipefail
CODEBLOCK_CACHE="${CODEBLOCK_CACHE:-$HOME/.cache/codeblock}"
venv="$CODEBLOCK_CACHE/torch-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, transformers, gguf, accelerate" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch==2.5.1 transformers==4.57.1 accelerate==1.15.0 gguf==0.19.0 numpy
fi
export CODEBLOCK_PYTHON="$venv/bin/python"
