"""`codeblock select` as the input grows: records/s and peak memory at each size, on one core and
on all of them, side by side in one run (scripts/bench-select-scaling.sh).

The pairs are the benches' own (MBPP's training pairs and the fixtures, repeated under new ids),
with the Qwen3 tokenizer; each output is deleted once measured, so the disk holds one at a time.
Prints a table and the two ratios the speed issue asks for: the speed-up of all cores over one,
and the peak memory at the largest size over that at the smallest; and checks that every thread
count wrote the same bytes (by digest).

On a shared machine single runs scatter by a fifth: `--repeat N` runs the thread counts N times
in turn (1, 2, 1, 2, ...) and keeps each one's fastest run, the least disturbed, and its highest
peak memory.
"""

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_pairs import write_pairs


def run(binary, tokenizer, pairs, out, threads):
    """Seconds, peak resident MiB (the child's own peak, from wait4) and the output's digest of
    one `select`."""
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    command = [binary, "select", "--input", pairs, "--tokenizer", tokenizer, "--out", out]
    clock = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - clock
    if status != 0:
        sys.exit(f"select failed on {pairs}: {child.stderr.read().decode()}")
    with open(out, "rb") as written:
        digest = hashlib.file_digest(written, "sha256").hexdigest()
    out.unlink()
    return seconds, usage.ru_maxrss / 1024, digest


def main(binary, tokenizer, sizes, thread_counts, repeat):
    cores = os.cpu_count()
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as work:
        work = Path(work)
        for size in sizes:
            pairs, records, _ = write_pairs(binary, work, size)
            print(f"{records:>9} records: input {pairs.stat().st_size / 2**20:,.0f} MiB", flush=True)
            digests = set()
            best = {}
            for _ in range(repeat):
                for threads in thread_counts:
                    seconds, rss, digest = run(binary, tokenizer, pairs, work / "out.jsonl", threads)
                    digests.add(digest)
                    print(f"{records:>9} records, {threads} thread(s): {seconds:7.1f} s, "
                          f"{records / seconds:7.0f} records/s, peak {rss:7.0f} MiB", flush=True)
                    fastest, highest = best.get(threads, (seconds, rss))
                    best[threads] = (min(fastest, seconds), max(highest, rss))
            rows.extend((records, threads, seconds, rss) for threads, (seconds, rss) in best.items())
            if len(digests) != 1:
                sys.exit(f"{records} records: the thread counts wrote different outputs")
            pairs.unlink()
    print()
    for records in sorted({r[0] for r in rows}):
        one = [r for r in rows if r[0] == records and r[1] == 1]
        every = [r for r in rows if r[0] == records and r[1] == cores]
        if one and every and cores > 1:
            fastest = " (the fastest of each)" if repeat > 1 else ""
            print(f"{records:>9} records: {cores} threads are {one[0][2] / every[0][2]:.2f}x one{fastest}")
    smallest, largest = min(r[0] for r in rows), max(r[0] for r in rows)
    if smallest == largest:
        return
    peak = {n: max(r[3] for r in rows if r[0] == n) for n in (smallest, largest)}
    print(f"peak memory at {largest} records is {peak[largest] / peak[smallest]:.2f}x that at {smallest}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="codeblock select as the input grows: records/s and peak memory")
    parser.add_argument("binary")
    parser.add_argument("tokenizer")
    parser.add_argument("sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--threads", type=lambda s: [int(t) for t in s.split(",")],
                        default=sorted({1, os.cpu_count()}),
                        help="thread counts to run at each size, comma-separated (default: 1 and all cores)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each thread count, in turn; the fastest of each counts (default 1)")
    args = parser.parse_args()
    main(args.binary, args.tokenizer, args.sizes, args.threads, args.repeat)
