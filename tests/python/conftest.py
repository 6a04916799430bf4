"""Shared by the Python tests: the native binary (CODEBLOCK_BIN) and where the data lives."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("CODEBLOCK_DATA", ROOT.parent / "shared/data"))
MODEL = os.environ.get("CODEBLOCK_MODEL", str(Path.home() / ".cache/codeblock/SmolLM2-135M-Instruct.Q4_1.gguf"))


def codeblock(*args):
    """Runs `codeblock ARGS`; a failure shows its stderr."""
    run = subprocess.run([os.environ["CODEBLOCK_BIN"], *map(str, args)], capture_output=True, text=True)
    assert run.returncode == 0, f"codeblock {' '.join(map(str, args))}:\n{run.stderr}"


def mbpp_pairs(path):
    """MBPP's 374 training pairs, as `codeblock pairs` writes them."""
    codeblock("pairs", "--split", "train", "--input", DATA / "mbpp_humaneval_format.jsonl.gz", "--out", path)
    return path
