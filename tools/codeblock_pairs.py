"""Pairs as codeblock reads them, for the scoring scripts beside this file: the three schemas
of `codeblock select` with its default field names (alpaca `instruction`/`input`/`output`,
`messages` whose last assistant turn is the response, `prompt`/`completion`), the same ids
(the `id` field, else the line number) and the same prompt messages. Mirrors
core/src/pipeline/record.rs; lines codeblock would reject are skipped here and rejected there.
"""

import json


def read_pairs(path):
    """(id, prompt messages, response) of each usable line."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield pair(record, str(number))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue


def pair(record, fallback_id):
    raw_id = record.get("id")
    if isinstance(raw_id, str):
        record_id = raw_id
    elif isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        record_id = json.dumps(raw_id)
    else:
        record_id = fallback_id
    if "messages" in record:
        messages = [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        return record_id, messages[:last], messages[last]["content"]
    if "instruction" in record:
        content = record["instruction"]
        if record.get("input"):
            content += "\n\n" + record["input"]
        return record_id, [{"role": "user", "content": content}], record["output"]
    return record_id, [{"role": "user", "content": record["prompt"]}], record["completion"]


def sequence_ids(tokenizer, prompt, response):
    """The ids codeblock scores: the prompt through the chat template with the generation
    prompt, then the response's own tokens. Also the prompt's length."""
    text = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return prompt_ids + response_ids, len(prompt_ids)
