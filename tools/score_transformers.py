"""Log-probs of each pair's prompt + response under a Hugging Face model, for
`codeblock select --scores` (run it where the model fits, e.g. a GPU box):

    python tools/score_transformers.py --model Qwen/Qwen2.5-Coder-1.5B-Instruct \
        --input pairs.jsonl --out scores.jsonl
    codeblock select --input pairs.jsonl --scores scores.jsonl --tokenizer model-folder/tokenizer.json --out selected.jsonl

Each line is {"id", "prompt_len", "token_ids", "logprobs"} over the whole sequence, logprobs[0]
null; codeblock takes the response at prompt_len and checks its ids against its own
tokenization (a record that differs is a `scores_mismatch` reject). Needs torch and
transformers.
"""

import argparse
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from codeblock_pairs import read_pairs, sequence_ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype="auto").to(args.device).eval()
    with open(args.out, "w", encoding="utf-8") as out, torch.no_grad():
        for record_id, prompt, response in read_pairs(args.input):
            ids, prompt_len = sequence_ids(tokenizer, prompt, response)
            tensor = torch.tensor([ids], device=args.device)
            logits = model(tensor).logits[0, :-1].float()
            logprobs = torch.log_softmax(logits, dim=-1).gather(1, tensor[0, 1:, None])[:, 0]
            line = {"id": record_id, "prompt_len": prompt_len, "token_ids": ids, "logprobs": [None] + logprobs.tolist()}
            out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
