"""Selection at scale from Python, side by side in one run: the `codeblock select` binary,
`codeblock.select_dataset` (Hugging Face datasets) with 1 and 2 processes, and
`codeblock.ray.select` in Ray's local mode (2 CPUs), on the same ≥ 100k records (MBPP's training
pairs and every fixture, repeated under new ids), with the Qwen3 tokenizer. Prints records/s,
each one's ratio to the binary, and peak RSS; checks that all give the binary's lines.

    bash scripts/bench-python.sh     # builds the release binary and wheel, then runs this
"""

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench_pairs import write_pairs



def peak_rss_mib(who):
    return resource.getrusage(who).ru_maxrss / 1024


def ray_workers_peak_mib():
    """The largest peak RSS among Ray's worker processes (they are not this process's children)."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"ray::" in cmdline or b"default_worker.py" in cmdline:
            peaks += [int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("VmHWM:")]
    return max(peaks, default=0.0)


def line_digests(lines):
    """Each line's record id and a digest of the line: what the runs are checked against,
    small enough that checking costs the measured process nothing worth counting."""
    return {json.loads(line)["id"]: hashlib.sha256(line.encode()).digest() for line in lines}


def one(mode, pairs, tokenizer, expected):
    """One configuration, alone in this process: its time and peak RSS, and whether every row
    got the binary's line. Rows are streamed from the result, so the check holds no copy."""
    import codeblock

    with open(expected) as lines:
        digests = line_digests(line.rstrip("\n") for line in lines)
    total = len(digests)
    selector = codeblock.Selector(tokenizer=open(tokenizer, "rb").read())
    start = time.perf_counter()
    # The binary's job: select lines, no training columns.
    if mode.startswith("datasets"):
        import datasets

        datasets.disable_progress_bars()
        # A run must not reuse another's cached map results (same file, same selector).
        datasets.disable_caching()
        dataset = datasets.load_dataset("json", data_files=pairs, split="train")
        result = codeblock.select_dataset(dataset, selector, num_proc=int(mode[-1]), token_columns=False)
        rows = (row for batch in result.select_columns(["selected"]).iter(batch_size=1000) for row in batch["selected"])
        workers = lambda: peak_rss_mib(resource.RUSAGE_CHILDREN)  # noqa: E731
    else:
        import ray

        import codeblock.ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray.data.DataContext.get_current().enable_progress_bars = False
        dataset = ray.data.read_json(pairs)
        result = codeblock.ray.select(dataset, selector, token_columns=False)
        rows = (row["selected"] for row in result.iter_rows())
        workers = ray_workers_peak_mib
    matched = sum(digests.pop(json.loads(line)["id"], None) == hashlib.sha256(line.encode()).digest() for line in rows)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "driver_mib": peak_rss_mib(resource.RUSAGE_SELF), "workers_mib": workers(),
                      "all_match": matched == total and not digests}))


def main(binary, tokenizer, work):
    work = Path(work)
    pairs, records, copies = write_pairs(binary, work, 100_000)

    start = time.perf_counter()
    subprocess.run([binary, "select", "--input", pairs, "--tokenizer", tokenizer, "--out", work / "cli.jsonl"],
                   check=True, capture_output=True)
    cli_seconds = time.perf_counter() - start
    results = [("codeblock select (binary)", cli_seconds, peak_rss_mib(resource.RUSAGE_CHILDREN), None)]
    for mode in ["datasets num_proc=1", "datasets num_proc=2", "ray local, 2 CPUs"]:
        run = subprocess.run([sys.executable, __file__, "--one", mode, str(pairs), tokenizer, str(work / "cli.jsonl")],
                             check=True, capture_output=True, text=True)
        numbers = json.loads(run.stdout.strip().splitlines()[-1])
        assert numbers["all_match"], f"{mode}: not the binary's lines"
        results.append((mode, numbers["seconds"], numbers["driver_mib"], numbers["workers_mib"]))

    print(f"{records} records (MBPP's training pairs and the fixtures, x{copies}), Qwen3 tokenizer, "
          f"{os.cpu_count()} cores; every configuration wrote the binary's lines")
    print(f"{'':28} {'seconds':>8} {'records/s':>10} {'vs binary':>9} {'peak RSS MiB':>13} {'workers MiB':>12}")
    for name, seconds, rss, workers in results:
        ratio = cli_seconds / seconds
        workers = "" if workers is None else f"{workers:.0f}"
        print(f"{name:28} {seconds:8.1f} {records / seconds:10.0f} {ratio:9.2f} {rss:13.0f} {workers:>12}")


if __name__ == "__main__":
    if sys.argv[1] == "--one":
        one(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
