"""Checks an exported checkpoint in Hugging Face `transformers` against codeblock's own model.

`codeblock train ... --export` writes OUT/final (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json). `codeblock score --model OUT/final` writes our log-probs of every
response token. This script loads OUT/final with `transformers` (LlamaForCausalLM or
Qwen2ForCausalLM), builds each record's context the way codeblock does (the chat template with
the generation prompt, then the response token ids), and compares its log-probs with ours.
Exit status 1 when the largest difference exceeds --tolerance (default 1e-3).

Needs PyPI torch and transformers (not installed by set-up; `source scripts/torch-env.sh`). Run:
  $CODEBLOCK_PYTHON tools/reference/transformers_check.py --model OUT/final \
      --selected selected.jsonl --scores scores.jsonl
"""

import argparse
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="the exported Hugging Face folder")
    parser.add_argument("--selected", required=True, help="`codeblock select` output (prompts)")
    parser.add_argument("--scores", required=True, help="`codeblock score --model MODEL` output")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    prompts = {}
    with open(args.selected) as f:
        for line in f:
            record = json.loads(line)
            if record["status"] == "ok":
                prompts[record["id"]] = record["prompt"]

    worst, tokens, records = 0.0, 0, 0
    with open(args.scores) as f:
        for line in f:
            score = json.loads(line)
            prompt = tokenizer.apply_chat_template(prompts[score["id"]], add_generation_prompt=True, tokenize=True)
            ids = torch.tensor([list(prompt) + score["token_ids"]])
            with torch.inference_mode():
                log_probs = torch.log_softmax(model(ids).logits[0].double(), dim=-1)
            start = len(prompt)
            theirs = [log_probs[p - 1, ids[0, p]].item() for p in range(start, ids.shape[1])]
            gap = max(abs(a - b) for a, b in zip(theirs, score["logprobs"]))
            worst = max(worst, gap)
            tokens += len(theirs)
            records += 1
    print(f"{records} records, {tokens} response tokens: max |transformers − codeblock| log-prob = {worst:.2e} "
          f"(tolerance {args.tolerance:g}); transformers loaded {type(model).__name__}")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
