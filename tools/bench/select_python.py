"""Selection at scale from Python, side by side in one run: the `codeblock select` binary,
`codeblock.select_dataset` (Hugging Face datasets) with 1 and 2 processes, and
`codeblock.ray.select` in Ray's local mode (2 CPUs), on the same ≥ 100k records (MBPP's training
pairs and every fixture, repeated under new ids), with the Qwen3 tokenizer. Prints records/s,
each one's ratio to the binary, and peak RSS; checks that all give the binary's lines.

    bash scripts/bench-python.sh     # builds the release binary and wheel, then runs this
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def one(mode, pairs, tokenizer, out):
    """One configuration, alone in this process: writes its lines and its numbers."""
    import codeblock

    selector = codeblock.Selector(tokenizer=open(tokenizer, "rb").read())
    start = time.perf_counter()
    if mode.startswith("datasets"):
        import datasets

        datasets.disable_progress_bars()
        # A run must not reuse another's cached map results (same file, same selector).
        datasets.disable_caching()
        dataset = datasets.load_dataset("json", data_files=pairs, split="train")
        result = codeblock.select_dataset(dataset, selector, num_proc=int(mode[-1]), batch_size=1000)
        lines = result["selected"]
        workers = peak_rss_mib(resource.RUSAGE_CHILDREN)
    else:
        import ray

        import codeblock.ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray.data.DataContext.get_current().enable_progress_bars = False
        rows = [json.loads(line) for line in open(pairs)]
        dataset = ray.data.from_items(rows)
        selected = codeblock.ray.select(dataset, selector, batch_size=1000).take_all()
        by_id = {json.loads(row["selected"])["id"]: row["selected"] for row in selected}
        lines = [by_id[row["id"]] for row in rows]
        workers = ray_workers_peak_mib()
    seconds = time.perf_counter() - start
    Path(out).write_text("\n".join(lines) + "\n")
    print(json.dumps({"seconds": seconds, "driver_mib": peak_rss_mib(resource.RUSAGE_SELF), "workers_mib": workers}))


def main(binary, tokenizer, work):
    work = Path(work)
    mbpp = work / "mbpp.jsonl"
    data = Path(os.environ.get("CODEBLOCK_DATA", ROOT.parent / "shared/data"))
    subprocess.run([binary, "pairs", "--split", "train", "--input", data / "mbpp_humaneval_format.jsonl.gz",
                    "--out", mbpp], check=True, capture_output=True)
    base = [json.loads(line) for line in mbpp.read_text().splitlines()]
    base += [{"id": p.name, "prompt": "Fixture.", "completion": p.read_text()}
             for p in sorted((ROOT / "tests/fixtures").glob("*.md"))]
    copies = -(-100_000 // len(base))
    pairs = work / "pairs.jsonl"
    with open(pairs, "w") as out:
        for k in range(copies):
            for row in base:
                out.write(json.dumps({**row, "id": f"{row['id']}#{k}"}) + "\n")
    records = copies * len(base)

    start = time.perf_counter()
    subprocess.run([binary, "select", "--input", pairs, "--tokenizer", tokenizer, "--out", work / "cli.jsonl"],
                   check=True, capture_output=True)
    cli_seconds = time.perf_counter() - start
    expected = (work / "cli.jsonl").read_text()
    results = [("codeblock select (binary)", cli_seconds, peak_rss_mib(resource.RUSAGE_CHILDREN), None)]
    for mode in ["datasets num_proc=1", "datasets num_proc=2", "ray local, 2 CPUs"]:
        out = work / "python.jsonl"
        run = subprocess.run([sys.executable, __file__, "--one", mode, str(pairs), tokenizer, str(out)],
                             check=True, capture_output=True, text=True)
        numbers = json.loads(run.stdout.strip().splitlines()[-1])
        assert out.read_text() == expected, f"{mode}: not the binary's lines"
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
