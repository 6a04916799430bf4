"""`codeblock export` read back by the Python tools people train with, and the same rows made by
the Python package.

Needs CODEBLOCK_BIN (the native binary), CODEBLOCK_TOKENIZER (Qwen3's tokenizer.json) and
CODEBLOCK_DATA (MBPP). The ids are checked against Hugging Face `tokenizers` and a `jinja2`
rendering of the chat template, so nothing here trusts our own Rust to be right.
"""

import json
import os
import shutil

import datasets
import jinja2
import pytest
import codeblock
from conftest import ROOT, codeblock as cli, mbpp_pairs
from tokenizers import Tokenizer

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
END = "<|im_end|>"


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """Pairs (the fixtures, MBPP's training split, one bad line), selected and exported in
    every format with a Hugging Face model folder's tokenizer and chat template."""
    work = tmp_path_factory.mktemp("export")
    model = work / "model"
    model.mkdir()
    shutil.copy(os.environ["CODEBLOCK_TOKENIZER"], model / "tokenizer.json")
    (model / "tokenizer_config.json").write_text(json.dumps({"chat_template": CHATML, "eos_token": END}))
    mbpp = mbpp_pairs(work / "mbpp.jsonl")
    fixtures = [
        json.dumps({"id": p.name, "prompt": "Fixture.", "completion": p.read_text()})
        for p in sorted((ROOT / "tests/fixtures").glob("*.md"))
    ]
    pairs = work / "pairs.jsonl"
    pairs.write_text(mbpp.read_text() + "\n".join(fixtures) + '\n{"oops"\n')
    selected = work / "selected.jsonl"
    cli("select", "--input", pairs, "--tokenizer", model / "tokenizer.json", "--budget", "0.02", "--guard", "none", "--out", selected)
    for form, name in [
        ("trl", "trl.parquet"),
        ("trl", "trl.jsonl"),
        ("axolotl", "axolotl.parquet"),
        ("llamafactory", "llamafactory"),
        ("axolotl-chat", "chat.jsonl"),
        ("weights", "weights.jsonl"),
    ]:
        cli("export", "--input", selected, "--model", model, "--format", form, "--out", work / name)
    lines = [json.loads(line) for line in selected.read_text().splitlines()]
    return work, lines, Tokenizer.from_file(str(model / "tokenizer.json"))


def load(path):
    kind = "parquet" if path.suffix == ".parquet" else "json"
    return datasets.load_dataset(kind, data_files=str(path), split="train")


def trained(lines):
    """The selected lines that give a row: accepted, with a supervised token."""
    return [line for line in lines if line["status"] == "ok" and line["stats"]["supervised_tokens"] > 0]


def test_every_record_is_a_row_or_a_reject(run):
    work, lines, _ = run
    rows = load(work / "trl.parquet")
    rejects = [json.loads(line) for line in (work / "trl.rejects.jsonl").read_text().splitlines()]
    assert len(rows) + len(rejects) == len(lines)
    assert {r["reason"] for r in rejects} == {"rejected_by_select", "no_supervised_token"}
    assert rows["id"] == [line["id"] for line in trained(lines)]


def test_labels_are_the_ids_where_the_mask_says(run):
    work, lines, _ = run
    rows = load(work / "trl.parquet")
    assert rows.column_names == ["id", "input_ids", "attention_mask", "labels", "assistant_masks"]
    for row, line in zip(rows, trained(lines)):
        ids, mask = row["input_ids"], row["assistant_masks"]
        assert row["labels"] == [i if m else -100 for i, m in zip(ids, mask)]
        assert row["attention_mask"] == [1] * len(ids)
        # The response's flags, then the end token, which every row supervises.
        response = line["mask"]["supervised"]
        assert mask[len(ids) - len(response) - 1 :] == response + [1]
        assert sum(mask) == line["stats"]["supervised_tokens"] + 1


def test_ids_are_the_templated_prompt_the_response_and_the_end_token(run):
    work, lines, tokenizer = run
    template = jinja2.Environment().from_string(CHATML)
    for row, line in zip(load(work / "trl.parquet"), trained(lines)):
        prompt = template.render(messages=line["prompt"], add_generation_prompt=True)
        expected = prompt + line["response"] + END
        assert tokenizer.decode(row["input_ids"], skip_special_tokens=False) == expected
        ids = tokenizer.encode(prompt, add_special_tokens=False).ids
        ids += tokenizer.encode(line["response"], add_special_tokens=False).ids
        assert row["input_ids"] == ids + [tokenizer.token_to_id(END)]


def test_jsonl_and_axolotl_hold_the_same_rows(run):
    work, _, _ = run
    trl = load(work / "trl.parquet")
    assert load(work / "trl.jsonl").to_list() == trl.to_list()
    axolotl = load(work / "axolotl.parquet")
    assert axolotl.column_names == ["input_ids", "attention_mask", "labels"]
    assert axolotl.to_list() == trl.remove_columns(["id", "assistant_masks"]).to_list()
    # LLaMA-Factory's `tokenized_path`: a folder `datasets.load_from_disk` reads.
    saved = datasets.load_from_disk(str(work / "llamafactory"))
    assert saved.to_list() == axolotl.to_list()
    assert saved.features == axolotl.features


def axolotl_trained_tokens(tokenizer, content, details):
    """axolotl 0.19's `get_offsets_for_train_detail`: a token spans from its start to the next
    token's start - 1 and is trained when wholly inside a detail (inclusive ends)."""
    offsets = tokenizer.encode(content, add_special_tokens=False).offsets
    spans = [(offsets[i][0], offsets[i + 1][0] - 1) for i in range(len(offsets) - 1)]
    spans.append((offsets[-1][0], len(content) - 1))
    return [
        int(any(d["train"] and d["begin_offset"] <= start and end <= d["end_offset"] for d in details))
        for start, end in spans
    ]


def test_axolotl_train_detail_trains_exactly_the_masked_tokens(run):
    work, lines, tokenizer = run
    chats = [json.loads(line) for line in (work / "chat.jsonl").read_text().splitlines()]
    assert len(chats) == len(trained(lines))
    for chat, line in zip(chats, trained(lines)):
        assert chat["id"] == line["id"]
        assistant = chat["messages"][-1]
        assert chat["messages"][:-1] == line["prompt"]
        assert assistant["content"] == line["response"]
        flags = axolotl_trained_tokens(tokenizer, assistant["content"], assistant["train_detail"])
        assert flags == line["mask"]["supervised"]


def test_weights_are_the_mask_for_the_mask_mode(run):
    work, lines, _ = run
    weighted = [json.loads(line) for line in (work / "weights.jsonl").read_text().splitlines()]
    for line, original in zip(weighted, trained(lines)):
        assert line["weights"] == [float(f) for f in original["mask"]["supervised"]]
        del line["weights"]
        assert line == original


def test_the_python_package_makes_the_exported_rows(run):
    """A selector from the same model folder selects what the binary selected, and its token
    columns are the `trl` export's rows, with the export's rejects as `reject`."""
    work, lines, _ = run
    guard_none = json.dumps({"select": {"guard": "none"}})
    selector = codeblock.Selector.from_pretrained_files(work / "model", budget=0.02, config=guard_none)
    selected = selector.select_jsonl((work / "pairs.jsonl").read_bytes()).splitlines()
    assert [json.loads(line) for line in selected] == lines
    columns = selector.token_columns(selected)
    rejects = [json.loads(line) for line in (work / "trl.rejects.jsonl").read_text().splitlines()]
    assert [r.split(":")[0] for r in columns["reject"] if r] == [r["reason"] for r in rejects]
    made = [
        {name: columns[name][i] for name in ["input_ids", "attention_mask", "labels", "assistant_masks"]}
        for i, reject in enumerate(columns["reject"])
        if reject is None
    ]
    assert made == load(work / "trl.parquet").remove_columns(["id"]).to_list()


def test_a_chat_template_file_beside_the_tokenizer_wins(run, tmp_path):
    """transformers saves a template as `chat_template.jinja`, which wins over the config's."""
    work, lines, tokenizer = run
    shutil.copytree(work / "model", tmp_path / "model")
    (tmp_path / "model/chat_template.jinja").write_text(
        "{% for m in messages %}### {{ m['content'] }}\n{% endfor %}### Answer:\n"
    )
    line = json.dumps(trained(lines)[0])
    for selector in [
        codeblock.Selector.from_pretrained_files(tmp_path / "model"),
        codeblock.Selector.from_pretrained_files(tmp_path / "model/tokenizer.json"),
    ]:
        ids = selector.token_columns([line])["input_ids"][0]
        assert tokenizer.decode(ids, skip_special_tokens=False).startswith("### ")
