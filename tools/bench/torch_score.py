"""PyTorch's side of `cargo bench -p codeblock --bench score`: the same job on the same machine.

SmolLM2-135M-Instruct from the same GGUF (transformers dequantizes it to float32), a batch of
8 sequences of 256 tokens with the bench's deterministic ids, one forward pass and the
log-softmax of every next token gathered (what codeblock's scorer computes). Prints one JSON
line: prompt tokens/s (mean of the rounds after a warm-up), threads, peak RSS.

Needs PyPI torch, transformers, accelerate and gguf (not installed by set-up: torch's Linux
wheels pull in gigabytes of CUDA libraries; `scripts/torch-env.sh` makes a virtual environment).
Run: scripts/bench-score.sh (both sides), or $CODEBLOCK_PYTHON tools/bench/torch_score.py --model FILE.gguf
"""

import argparse
import json
import os
import resource
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(args.model)),
        gguf_file=os.path.basename(args.model),
        torch_dtype=torch.float32,
    ).eval()
    vocab = model.config.vocab_size
    ids = torch.tensor(
        [[(b * 7919 + i * 104_729) % vocab for i in range(args.length)] for b in range(args.batch)]
    )

    def score():
        with torch.inference_mode():
            logits = model(ids).logits[:, :-1]
            return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])

    score()  # warm-up
    start = time.perf_counter()
    for _ in range(args.rounds):
        score()
    seconds = (time.perf_counter() - start) / args.rounds
    print(json.dumps({
        "tokens_per_s": args.batch * args.length / seconds,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
