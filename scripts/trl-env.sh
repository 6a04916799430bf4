#!/usr/bin/env bash
# TRL, transformers and PyTorch for the checks against the Python trainers and scorers
# (tools/check_trl.sh, tools/check_score_transformers.sh), in a virtual environment cached
# outside the clone. Not part of set-up: PyTorch's wheels are gigabytes (a few minutes to make
# the first time). Sourced, not run: it exports CODEBLOCK_TRL_PYTHON.
set -euo pipefail
CODEBLOCK_CACHE="${CODEBLOCK_CACHE:-$HOME/.cache/codeblock}"
trl_venv="$CODEBLOCK_CACHE/trl-venv"
trl_pins="torch==2.15.0 transformers==5.24.0 trl==1.16.0 datasets==5.2.0 pyarrow==26.0.1"
if [ "$(cat "$trl_venv/pins" 2>/dev/null)" != "$trl_pins" ]; then
  rm -rf "$trl_venv" && python3 -m venv "$trl_venv"
  # shellcheck disable=SC2086
  "$trl_venv/bin/pip" install --quiet $trl_pins && echo "$trl_pins" > "$trl_venv/pins"
fi
export CODEBLOCK_TRL_PYTHON="$trl_venv/bin/python"
