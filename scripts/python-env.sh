#!/usr/bin/env bash
# The Python side of the tests: maturin builds the package (python/), Hugging Face `datasets`
# (with pyarrow) and Ray Data run it and load what `codeblock export` writes, `tokenizers` and `jinja2` check its ids
# independently of our Rust, pytest runs tests/python. A virtual environment cached outside the
# clone, made again when a pin changes.
# Sourced, not run: it exports CODEBLOCK_PYTHON_ENV.
set -euo pipefail
CODEBLOCK_CACHE="${CODEBLOCK_CACHE:-$HOME/.cache/codeblock}"
python_pins="datasets==5.2.0 pyarrow==26.0.1 pytest==9.2.0 tokenizers==0.23.3 jinja2==3.1.6 maturin==1.16.0 ray[data]==2.60.0"
export CODEBLOCK_PYTHON_ENV="$CODEBLOCK_CACHE/python-venv"
if [ "$(cat "$CODEBLOCK_PYTHON_ENV/pins" 2>/dev/null)" != "$python_pins" ]; then
  rm -rf "$CODEBLOCK_PYTHON_ENV"
  python3 -m venv "$CODEBLOCK_PYTHON_ENV"
  # shellcheck disable=SC2086
  "$CODEBLOCK_PYTHON_ENV/bin/pip" install --quiet $python_pins
  echo "$python_pins" > "$CODEBLOCK_PYTHON_ENV/pins"
fi
