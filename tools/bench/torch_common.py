"""What the benches' PyTorch sides share: the model from a GGUF, the deterministic ids (the same
as `codeblock_tests::bench_ids`) and the timing (the same as `codeblock_tests::timed`)."""

import os
import time

import torch
from transformers import AutoModelForCausalLM


def load_gguf(path):
    """A GGUF model in transformers, dequantized to float32."""
    return AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(path)),
        gguf_file=os.path.basename(path),
        torch_dtype=torch.float32,
    )


def bench_ids(batch, length, vocab):
    """`batch` rows of `length` token ids spread over the vocabulary."""
    return torch.tensor([[(b * 7919 + i * 104_729) % vocab for i in range(length)] for b in range(batch)])


def timed(job, rounds, device=torch.device("cpu")):
    """Mean seconds of `job` over `rounds` timed runs after one warm-up, each waited for on a GPU."""

    def run():
        job()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    run()
    start = time.perf_counter()
    for _ in range(rounds):
        run()
    return (time.perf_counter() - start) / rounds
