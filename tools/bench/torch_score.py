"""PyTorch's side of `cargo bench -p codeblock --bench score`: the same job on the same machine.

SmolLM2-135M-Instruct from the same GGUF (transformers dequantizes it to float32), a batch of
8 sequences of 256 tokens with the bench's deterministic ids, one forward pass and the
log-softmax of every next token gathered (what codeblock's scorer computes); then greedy
generation with the KV cache of `--new-tokens` after the first `--prompt` ids of each row, at
each batch size of `--generation-batches`. Prints one JSON line: prompt tokens/s and new
tokens/s per batch size (means of the rounds after a warm-up), threads, peak RSS.

Needs PyPI torch, transformers, accelerate and gguf (not installed by set-up: torch's Linux
wheels pull in gigabytes of CUDA libraries; `scripts/torch-env.sh` makes a virtual environment).
Run: scripts/bench-score.sh (both sides), or $CODEBLOCK_PYTHON tools/bench/torch_score.py --model FILE.gguf
"""

import argparse
import json
import resource

import torch

from torch_common import bench_ids, load_gguf, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--generation-batches", default="1,8")
    args = parser.parse_args()

    model = load_gguf(args.model).eval()
    ids = bench_ids(args.batch, args.length, model.config.vocab_size)

    def score():
        with torch.inference_mode():
            logits = model(ids).logits[:, :-1]
            return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])

    seconds = timed(score, args.rounds)

    def generation(batch):
        prompts = ids[:batch, : args.prompt]

        def generate():
            # No end token: every row makes all its new tokens, as in codeblock's run.
            with torch.inference_mode():
                model.generate(
                    prompts, attention_mask=torch.ones_like(prompts), do_sample=False,
                    max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, pad_token_id=0,
                )

        return batch * args.new_tokens / timed(generate, args.rounds)

    batches = [int(b) for b in args.generation_batches.split(",")]
    print(json.dumps({
        "tokens_per_s": args.batch * args.length / seconds,
        "generation": {str(b): generation(b) for b in batches},
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
