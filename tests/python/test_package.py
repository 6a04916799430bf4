"""The Python package (`import codeblock`, built by maturin from python/) gives the same answers
as the `codeblock` binary, byte for byte, and travels to worker processes by pickle.

Needs the package installed (scripts/test.sh builds and installs the wheel), CODEBLOCK_BIN,
CODEBLOCK_TOKENIZER, CODEBLOCK_MODEL and CODEBLOCK_DATA.
"""

import json
import os
import pickle
from concurrent.futures import ProcessPoolExecutor

import codeblock
import datasets
import pytest
from conftest import MODEL, ROOT, codeblock as cli, mbpp_pairs

CONFIGS = {
    "defaults": None,
    "per-record 30%": {"select": {"budget": 0.3, "scope": "per_record"}, "score": {"q": 0.5}},
    "data flow off": {"dataflow": {"lambda_reach": 0, "lambda_bridge": 0}, "partition": {"max_depth": 1}},
}


@pytest.fixture(scope="session")
def pairs(tmp_path_factory):
    """MBPP's training pairs, every fixture, and bad lines of each kind."""
    work = tmp_path_factory.mktemp("package")
    fixtures = [
        json.dumps({"id": p.name, "prompt": "Fixture.", "completion": p.read_text()})
        for p in sorted((ROOT / "tests/fixtures").glob("*.md"))
    ]
    bad = ["{oops", '{"instruction":"x"}', "", '{"prompt":"p","completion":""}']
    text = mbpp_pairs(work / "mbpp.jsonl").read_text() + "\n".join(fixtures + bad) + "\n"
    path = work / "pairs.jsonl"
    path.write_bytes(text.encode() + b"\xff\xfe\n")
    return work, path


def native(work, pairs, name, config, tokenizer=None, scores=None):
    out = work / f"{name}.jsonl"
    args = ["select", "--input", pairs, "--out", out]
    if config is not None:
        (work / f"{name}.config.json").write_text(json.dumps(config))
        args += ["--config", work / f"{name}.config.json"]
    if tokenizer is not None:
        args += ["--tokenizer", tokenizer]
    if scores is not None:
        args += ["--scores", scores]
    cli(*args)
    return out.read_text()


@pytest.mark.parametrize("tokenized", [False, True], ids=["lexical", "qwen3"])
@pytest.mark.parametrize("name", CONFIGS)
def test_select_jsonl_equals_the_binary(pairs, name, tokenized):
    work, path = pairs
    config = CONFIGS[name]
    tokenizer = os.environ["CODEBLOCK_TOKENIZER"] if tokenized else None
    selector = codeblock.Selector(
        tokenizer=open(tokenizer, "rb").read() if tokenizer else None,
        config=json.dumps(config) if config is not None else None,
    )
    expected = native(work, path, f"{name}-{tokenized}", config, tokenizer)
    assert selector.select_jsonl(path.read_bytes()) == expected
    reasons = {json.loads(line).get("reason") for line in expected.splitlines()}
    assert {"malformed_json", "missing_field", "empty_response", "invalid_utf8"} <= reasons


def test_precomputed_scores_from_a_gguf_tokenizer(pairs):
    work, path = pairs
    small = work / "small.jsonl"
    small.write_text("".join(path.read_text(errors="replace").splitlines(keepends=True)[:8]))
    scores = work / "scores.jsonl"
    cli("score", "--input", small, "--model", MODEL, "--device", "cpu", "--out", scores)
    expected = native(work, small, "scored", None, MODEL, scores)
    selector = codeblock.Selector(tokenizer=open(MODEL, "rb").read())
    assert selector.select_jsonl(small.read_bytes(), scores=scores.read_bytes()) == expected


def select_in_worker(selector, data):
    return selector.select_jsonl(data)


def test_a_pickled_selector_selects_the_same_in_another_process(pairs):
    _, path = pairs
    selector = codeblock.Selector(
        tokenizer=open(os.environ["CODEBLOCK_TOKENIZER"], "rb").read(), config='{"select": {"budget": 0.05}}'
    )
    data = path.read_bytes()
    assert pickle.loads(pickle.dumps(selector)).select_jsonl(data) == selector.select_jsonl(data)
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert pool.submit(select_in_worker, selector, data).result() == selector.select_jsonl(data)


def test_bad_settings_are_value_errors():
    with pytest.raises(ValueError, match="select.budget must be between 0 and 1"):
        codeblock.Selector(config='{"select": {"budget": 2}}')
    with pytest.raises(ValueError, match="config"):
        codeblock.Selector(config='{"selekt": {}}')
    with pytest.raises(ValueError, match="tokenizer"):
        codeblock.Selector(tokenizer=b"not a tokenizer")
    with pytest.raises(ValueError, match="scores line 1"):
        codeblock.Selector().select_jsonl(b"{}\n", scores=b"{oops\n")


@pytest.mark.parametrize("num_proc", [1, 2])
def test_select_dataset_equals_the_binary_over_shards(pairs, num_proc):
    """The global budget cut once over shards of a `datasets.Dataset` (small batches, so many
    shards) gives every row the binary's line, with the n-gram baseline fitted on all rows."""
    work, path = pairs
    good = work / "good.jsonl"
    good.write_text("".join(line for line in path.read_text(errors="replace").splitlines(keepends=True)[:-5]))
    tokenizer = os.environ["CODEBLOCK_TOKENIZER"]
    expected = native(work, good, f"dataset-{num_proc}", None, tokenizer).splitlines()
    dataset = datasets.load_dataset("json", data_files=str(good), split="train")
    selector = codeblock.Selector(tokenizer=open(tokenizer, "rb").read())
    selected = codeblock.select_dataset(dataset, selector, num_proc=num_proc, batch_size=50)
    assert selected["selected"] == expected
    token_columns = ["input_ids", "attention_mask", "labels", "assistant_masks", "reject"]
    assert selected.column_names == dataset.column_names + ["selected"] + token_columns
    # The training rows of the binary's lines (tests/python/test_export.py: = `codeblock export`).
    assert selected.select_columns(token_columns).to_dict() == selector.token_columns(expected)
    plain = codeblock.select_dataset(dataset, selector, num_proc=num_proc, token_columns=False)
    assert plain.column_names == dataset.column_names + ["selected"]


def test_a_logprobs_column_scores_its_rows(pairs):
    """Rows that carry `codeblock score`'s `token_ids` and `logprobs` select as `--scores` does,
    and a row whose ids are not its response's is a named reject."""
    work, path = pairs
    small = work / "small.jsonl"
    small.write_text("".join(path.read_text(errors="replace").splitlines(keepends=True)[:8]))
    scores = work / "small-scores.jsonl"
    cli("score", "--input", small, "--model", MODEL, "--device", "cpu", "--out", scores)
    expected = native(work, small, "scored-rows", None, MODEL, scores).splitlines()
    rows = [json.loads(line) for line in small.read_text().splitlines()]
    by_id = {json.loads(line)["id"]: json.loads(line) for line in scores.read_text().splitlines()}
    for row in rows:
        row.update({k: by_id[row["id"]][k] for k in ["token_ids", "logprobs"]})
    selector = codeblock.Selector(tokenizer=open(MODEL, "rb").read())
    dataset = datasets.Dataset.from_list(rows)
    assert codeblock.select_dataset(dataset, selector, num_proc=2, batch_size=3)["selected"] == expected
    # The global budget moves when a row is rejected: compare with the binary given the same.
    rows[0]["token_ids"] = [t + 1 for t in rows[0]["token_ids"]]
    wrong = work / "wrong-scores.jsonl"
    wrong.write_text("".join(json.dumps({k: row[k] for k in ["id", "token_ids", "logprobs"]}) + "\n" for row in rows))
    expected = native(work, small, "wrong-rows", None, MODEL, wrong).splitlines()
    selected = codeblock.select_dataset(datasets.Dataset.from_list(rows), selector, token_columns=False)
    assert selected["selected"] == expected
    assert json.loads(expected[0])["reason"] == "scores_mismatch"


def test_the_batch_passes_in_a_plain_loop_equal_the_binary(pairs):
    """The passes any engine can map (here a loop over pyarrow record batches, as Spark's
    `mapInArrow` would give them) give the binary's lines and the training columns of them."""
    import pyarrow.json

    work, path = pairs
    good = work / "good.jsonl"
    good.write_text("".join(line for line in path.read_text(errors="replace").splitlines(keepends=True)[:-5]))
    tokenizer = os.environ["CODEBLOCK_TOKENIZER"]
    expected = native(work, good, "batches", None, tokenizer).splitlines()
    table = pyarrow.json.read_json(good)
    parts, start = [], 0
    for batch in table.to_batches(max_chunksize=50):
        parts.append((batch, range(start, start + batch.num_rows)))
        start += batch.num_rows
    selector = codeblock.Selector(tokenizer=open(tokenizer, "rb").read())
    fitted = selector.fitted([codeblock.fit_batch(selector, batch, rows) for batch, rows in parts])
    shares = fitted.cut([s for batch, rows in parts for s in codeblock.shortlist_batch(fitted, batch, rows)])
    columns = [codeblock.apply_batch(fitted, batch, rows, shares, token_columns=True) for batch, rows in parts]
    assert [line for c in columns for line in c["selected"]] == expected
    assert [ids for c in columns for ids in c["input_ids"]] == selector.token_columns(expected)["input_ids"]
