"""vLLM's prompt log-probs of each pair's prompt + response, for `codeblock select --scores`
(run it on the GPU box where vLLM serves the model):

    python tools/score_vllm.py --model Qwen/Qwen2.5-Coder-1.5B-Instruct --input pairs.jsonl --out scores.jsonl
    codeblock select --input pairs.jsonl --scores scores.jsonl --tokenizer model-folder/tokenizer.json --out selected.jsonl

Each line is {"id", "prompt_token_ids", "prompt_logprobs"} as vLLM returns them (the first entry
null, each a map from token id, as a string, to {"logprob", "rank", "decoded_token"}). Lines
saved from vLLM's OpenAI server (`prompt_logprobs` in the request) with an `id` added work too;
codeblock finds the response in them and checks its ids against its own tokenization.
"""

import argparse
import json

from vllm import LLM, SamplingParams

from codeblock_pairs import read_pairs, sequence_ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    llm = LLM(model=args.model)
    tokenizer = llm.get_tokenizer()
    pairs = list(read_pairs(args.input))
    prompts = [{"prompt_token_ids": sequence_ids(tokenizer, prompt, response)[0]} for _, prompt, response in pairs]
    # One generated token: only the prompt's log-probs are wanted (0 alternatives: its own token).
    outputs = llm.generate(prompts, SamplingParams(max_tokens=1, prompt_logprobs=0))
    with open(args.out, "w", encoding="utf-8") as out:
        for (record_id, _, _), output in zip(pairs, outputs):
            logprobs = [
                None
                if entry is None
                else {
                    str(token): {"logprob": lp.logprob, "rank": lp.rank, "decoded_token": lp.decoded_token}
                    for token, lp in entry.items()
                }
                for entry in output.prompt_logprobs
            ]
            line = {"id": record_id, "prompt_token_ids": output.prompt_token_ids, "prompt_logprobs": logprobs}
            out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
