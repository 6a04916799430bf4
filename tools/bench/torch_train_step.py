"""PyTorch's side of `cargo bench -p codeblock --bench train_step`: the same step on the same
machine.

SmolLM2-135M-Instruct from the same GGUF (transformers dequantizes it to float32), one sequence
of the bench's deterministic ids, the given positions supervised and every other label -100 (the
full-logits masked cross-entropy, as TRL computes it), backward, and AdamW over every parameter.
Prints one JSON line: the best step's forward, backward and optimizer seconds, threads, peak RSS.

Needs torch, transformers, accelerate and gguf (`scripts/torch-env.sh`).
"""

import argparse
import json
import resource
import time

import torch

from torch_common import bench_ids, load_gguf


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--supervised", required=True, help="comma-separated positions")
    args = parser.parse_args()

    model = load_gguf(args.model).train()
    ids = bench_ids(1, args.length, model.config.vocab_size)
    labels = torch.full_like(ids, -100)
    for position in map(int, args.supervised.split(",")):
        labels[0, position] = ids[0, position]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    best = None
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = model(ids, labels=labels).loss
        forward = time.perf_counter() - start
        loss.backward()
        backward = time.perf_counter() - start - forward
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step = {"forward": forward, "backward": backward, "optimizer": time.perf_counter() - start - forward - backward}
        if best is None or sum(step.values()) < sum(best.values()):
            best = step
    print(json.dumps({
        **best,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
