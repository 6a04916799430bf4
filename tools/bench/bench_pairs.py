"""The benches' pairs: MBPP's training pairs and every fixture, repeated under new ids."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_pairs(binary, work, at_least):
    """Writes ≥ `at_least` pairs to `work/pairs.jsonl`; returns the path, the count and the copies."""
    mbpp = work / "mbpp.jsonl"
    data = Path(os.environ.get("CODEBLOCK_DATA", ROOT.parent / "shared/data"))
    subprocess.run([binary, "pairs", "--split", "train", "--input", data / "mbpp_humaneval_format.jsonl.gz",
                    "--out", mbpp], check=True, capture_output=True)
    base = [json.loads(line) for line in mbpp.read_text().splitlines()]
    base += [{"id": p.name, "prompt": "Fixture.", "completion": p.read_text()}
             for p in sorted((ROOT / "tests/fixtures").glob("*.md"))]
    copies = -(-at_least // len(base))
    pairs = work / "pairs.jsonl"
    with open(pairs, "w") as out:
        for k in range(copies):
            for row in base:
                out.write(json.dumps({**row, "id": f"{row['id']}#{k}"}) + "\n")
    return pairs, copies * len(base), copies
