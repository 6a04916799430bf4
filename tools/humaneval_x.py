"""Writes tests/data/humaneval-x/: HumanEval-X's canonical solutions in JavaScript, Java, Go and
Rust (164 tasks each), one JSON line per task: {"task_id", "code"}, where the code is the task's
prompt (imports, helpers, the documented signature) followed by its canonical solution (Rust:
the declaration, which holds the imports and signature, then the solution). The source is a
clone of THUDM/CodeGeeX (Apache-2.0), codegeex/benchmark/humaneval-x/<lang>/data/.

Usage: python3 tools/humaneval_x.py PATH/TO/CodeGeeX
"""

import gzip
import json
import pathlib
import sys

LANGUAGES = {"js": "javascript", "java": "java", "go": "go", "rust": "rust"}


def main(clone: str) -> None:
    out = pathlib.Path(__file__).resolve().parent.parent / "tests/data/humaneval-x"
    out.mkdir(parents=True, exist_ok=True)
    for short, name in LANGUAGES.items():
        source = pathlib.Path(clone) / f"codegeex/benchmark/humaneval-x/{short}/data/humaneval_{short}.jsonl.gz"
        lines = []
        with gzip.open(source, "rt", encoding="utf-8") as tasks:
            for line in tasks:
                task = json.loads(line)
                head = task["declaration"] if short == "rust" else task["prompt"]
                code = head + task["canonical_solution"]
                lines.append(json.dumps({"task_id": task["task_id"], "code": code}, ensure_ascii=False))
        (out / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)} tasks")


if __name__ == "__main__":
    main(sys.argv[1])
