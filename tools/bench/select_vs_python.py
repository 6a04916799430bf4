"""`codeblock select` against a plain-Python implementation of the same stages
(`../shared/anchors/py_select`: py-tree-sitter, HF `tokenizers`, Python for the rest), side by
side in one run on the same ≥ 10k pairs with the Qwen3 tokenizer, end to end (process start and
tokenizer load included), three rounds alternating, medians. Prints the ratio, each side's
stages and peak RSS, and the bare tree-sitter parse of the same code in Python for scale.

    bash scripts/bench-select.sh     # builds the release binary, then runs this
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_pairs import write_pairs

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = Path(os.environ.get("CODEBLOCK_PY_SELECT", ROOT.parent / "shared/anchors/py_select/run.sh"))
ROUNDS = 3


def timed(command):
    """Wall seconds, peak RSS (MiB) and stderr of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    run = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    # ru_maxrss of children is the largest so far: a smaller child leaves it unchanged.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, (peak / 1024 if peak > before else None), run.stderr


def summary(stderr):
    line = next(l for l in stderr.splitlines() if l.startswith("SUMMARY "))
    return json.loads(line[len("SUMMARY "):])


def main(binary, tokenizer):
    work = Path(tempfile.mkdtemp())
    pairs, records, copies = write_pairs(binary, work, 10_000)
    ours = [binary, "select", "--input", pairs, "--tokenizer", tokenizer, "--out", work / "ours.jsonl",
            "--report", work / "report.json"]
    python = ["bash", ANCHOR, "--input", pairs, "--tokenizer", tokenizer, "--out", work / "python.jsonl"]
    # The anchor makes its venv on first use: not part of any timing.
    subprocess.run(["bash", ANCHOR, "--input", pairs, "--parse-only"], check=True, capture_output=True)
    times = {"ours": [], "python": []}
    peaks = {"ours": [], "python": []}
    for _ in range(ROUNDS):
        for name, command in [("ours", ours), ("python", python)]:
            seconds, peak, stderr = timed(command)
            times[name].append(seconds)
            peaks[name].append(peak)
            if name == "python":
                python_stages = summary(stderr)
    parse = summary(subprocess.run(["bash", ANCHOR, "--input", pairs, "--parse-only"], check=True,
                                   capture_output=True, text=True).stderr)
    report = json.loads((work / "report.json").read_text())
    ours_s, python_s = statistics.median(times["ours"]), statistics.median(times["python"])
    print(f"{records} pairs (MBPP's training pairs and the fixtures, x{copies}), Qwen3 tokenizer, "
          f"{os.cpu_count()} cores, median of {ROUNDS} alternating rounds, end to end")
    print(f"codeblock select      {ours_s:7.2f} s  {records / ours_s:8.0f} records/s  "
          f"rounds {', '.join(f'{t:.2f}' for t in times['ours'])}")
    print(f"plain Python          {python_s:7.2f} s  {records / python_s:8.0f} records/s  "
          f"rounds {', '.join(f'{t:.2f}' for t in times['python'])}")
    print(f"ratio (Python / ours) {python_s / ours_s:7.2f}x   (the aim: >= 5x)")
    print(f"our stages (s, last round): {json.dumps(report.get('timings', {}))}")
    print(f"Python's stages (s, last round): {json.dumps(python_stages['stages_s'])}")
    print(f"bare tree-sitter parse in Python of the same code: {parse['parse_s']:.2f} s")
    peak = lambda name: max((p for p in peaks[name] if p), default=float("nan"))
    print(f"peak RSS MiB: ours {peak('ours'):.0f}, Python {peak('python'):.0f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
