"""`select --scores` reads what users save elsewhere: vLLM's `prompt_logprobs` and a
transformers forward pass's full-sequence log-probs, made here from `codeblock score`'s own
numbers by reshaping, give the same selection as our own score lines; ids that do not match
give named rejects.

Needs CODEBLOCK_BIN, CODEBLOCK_MODEL (SmolLM2's GGUF) and CODEBLOCK_DATA (MBPP).
"""

import json
import random

import pytest
from conftest import MODEL, codeblock, mbpp_pairs

PAIRS = 12


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_jsonl(path, lines):
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture(scope="session")
def scored(tmp_path_factory):
    """A few MBPP pairs, their scores in our shape, the selection from them, and each record's
    whole sequence (prompt through the chat template, response, end token) from `export`."""
    work = tmp_path_factory.mktemp("scores")
    lines = mbpp_pairs(work / "all.jsonl").read_text().splitlines()[:PAIRS]
    pairs = work / "pairs.jsonl"
    pairs.write_text("\n".join(lines) + "\n")
    ours = work / "ours.jsonl"
    codeblock("score", "--input", pairs, "--model", MODEL, "--device", "cpu", "--out", ours)
    selected = select(work, pairs, ours, "ours")
    rows = work / "rows.jsonl"
    codeblock("export", "--input", selected, "--model", MODEL, "--format", "trl", "--mode", "full", "--out", rows)
    sequences = {row["id"]: (row["input_ids"], row["assistant_masks"].index(1)) for row in jsonl(rows)}
    return work, pairs, {line["id"]: line for line in jsonl(ours)}, sequences, selected.read_text()


def select(work, pairs, scores, name):
    out = work / f"selected-{name}.jsonl"
    codeblock("select", "--input", pairs, "--scores", scores, "--tokenizer", MODEL, "--out", out)
    return out


def sequence_logprobs(ours, sequence, prompt_len):
    """Log-probs over a whole sequence: the response's from our scores, made-up ones elsewhere
    (a real model would score the prompt and end token too), the first null."""
    rng = random.Random(len(sequence))
    made_up = [-rng.uniform(0.01, 5.0) for _ in sequence]
    response = ours["logprobs"]
    assert sequence[prompt_len : prompt_len + len(response)] == ours["token_ids"]
    return [None] + made_up[1:prompt_len] + response + made_up[prompt_len + len(response) :]


def vllm_line(record_id, ours, sequence, prompt_len):
    """vLLM's shape: per position the prompt's token and a likelier alternative (top-1), keys as
    strings as its OpenAI server writes them."""
    logprobs = sequence_logprobs(ours, sequence, prompt_len)
    entries = [None] + [
        {
            str(token): {"logprob": logprob, "rank": 2, "decoded_token": "?"},
            str((token + 17) % 49152): {"logprob": logprob / 2, "rank": 1, "decoded_token": "?"},
        }
        for token, logprob in zip(sequence[1:], logprobs[1:])
    ]
    return {"id": record_id, "prompt_logprobs": entries}


def transformers_line(record_id, ours, sequence, prompt_len):
    logprobs = sequence_logprobs(ours, sequence, prompt_len)
    return {"id": record_id, "prompt_len": prompt_len, "token_ids": sequence, "logprobs": logprobs}


@pytest.mark.parametrize("shape", [vllm_line, transformers_line])
def test_other_shapes_select_the_same(scored, shape):
    work, pairs, ours, sequences, expected = scored
    lines = [shape(i, ours[i], *sequences[i]) for i in sequences]
    scores = write_jsonl(work / f"{shape.__name__}.jsonl", lines)
    assert select(work, pairs, scores, shape.__name__).read_text() == expected


def test_the_vllm_shape_with_prompt_ids_selects_the_same(scored):
    work, pairs, ours, sequences, expected = scored
    lines = []
    for i, (sequence, prompt_len) in sequences.items():
        line = vllm_line(i, ours[i], sequence, prompt_len)
        line["prompt_token_ids"] = sequence
        lines.append(line)
    scores = write_jsonl(work / "vllm-with-ids.jsonl", lines)
    assert select(work, pairs, scores, "vllm-with-ids").read_text() == expected


@pytest.mark.parametrize("shape", [vllm_line, transformers_line])
def test_ids_that_do_not_match_are_named_rejects(scored, shape):
    work, pairs, ours, sequences, _ = scored
    first, *rest = sequences
    sequence, prompt_len = sequences[first]
    # Another token in the middle of the first record's response.
    broken = list(sequence)
    broken[prompt_len + 1] = (broken[prompt_len + 1] + 1) % 49152
    lines = [shape(first, {**ours[first], "token_ids": broken[prompt_len : prompt_len + len(ours[first]["token_ids"])]}, broken, prompt_len)]
    lines += [shape(i, ours[i], *sequences[i]) for i in rest]
    scores = write_jsonl(work / f"broken-{shape.__name__}.jsonl", lines)
    out = jsonl(select(work, pairs, scores, f"broken-{shape.__name__}"))
    assert [o["status"] for o in out] == ["rejected"] + ["ok"] * len(rest)
    assert out[0]["reason"] == "scores_mismatch"
    assert f"record `{first}`" in out[0]["message"]
