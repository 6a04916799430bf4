"""PyTorch's side of `cargo bench -p codeblock --bench gpu`: the same jobs on the same device.

A transformers model of the given config.json (random weights, float32), then
- scoring: a batch of sequences through one forward pass, the log-softmax of every next token
  gathered (what codeblock's scorer computes);
- a training step: forward, the full-logits cross-entropy on the supervised positions (the
  others labelled -100, as TRL masks them), backward and AdamW.
Prints one JSON line of tokens/s (mean of the rounds after a warm-up).

Needs torch and transformers (on a GPU image they come with python3; here
`scripts/torch-env.sh` makes a virtual environment).
"""

import argparse
import json

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from torch_common import bench_ids, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="a config.json as text")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--score-batch", type=int, default=8)
    parser.add_argument("--score-length", type=int, default=256)
    parser.add_argument("--train-batch", type=int, default=4)
    parser.add_argument("--train-length", type=int, default=512)
    parser.add_argument("--supervised-percent", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("PyTorch sees no CUDA device")

    fields = json.loads(args.config)
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).to(device)
    vocab = config.vocab_size

    scored = bench_ids(args.score_batch, args.score_length, vocab).to(device)

    def score():
        with torch.inference_mode():
            logits = model(scored).logits[:, :-1]
            torch.log_softmax(logits, dim=-1).gather(-1, scored[:, 1:, None])

    model.eval()
    score_seconds = timed(score, args.rounds, device)

    trained = bench_ids(args.train_batch, args.train_length, vocab).to(device)
    supervised = args.train_length * args.supervised_percent // 100
    labels = torch.full_like(trained, -100)
    for k in range(supervised):
        position = 1 + k * (args.train_length - 1) // supervised
        labels[:, position] = trained[:, position]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step():
        loss = model(trained, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    model.train()
    train_seconds = timed(step, args.rounds, device)

    print(json.dumps({
        "score_tokens_per_s": args.score_batch * args.score_length / score_seconds,
        "train_tokens_per_s": args.train_batch * args.train_length / train_seconds,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
