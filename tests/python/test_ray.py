"""`codeblock.ray.select` on Ray Data in local mode (2 CPUs): every row's `selected` line equals
the binary's on the same records as a JSONL file, the global budget cut once over all blocks,
and its training columns are those of the binary's lines.

Needs the package installed, CODEBLOCK_BIN, CODEBLOCK_TOKENIZER and CODEBLOCK_DATA.
"""

import json
import os

import codeblock
import codeblock.ray
import pytest
import ray
from conftest import ROOT, codeblock as cli, mbpp_pairs


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_select_equals_the_binary(local_ray, tmp_path):
    fixtures = [
        json.dumps({"id": p.name, "prompt": "Fixture.", "completion": p.read_text()})
        for p in sorted((ROOT / "tests/fixtures").glob("*.md"))
    ]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(mbpp_pairs(tmp_path / "mbpp.jsonl").read_text() + "\n".join(fixtures) + "\n")
    tokenizer = os.environ["CODEBLOCK_TOKENIZER"]
    cli("select", "--input", pairs, "--tokenizer", tokenizer, "--out", tmp_path / "cli.jsonl")
    expected = (tmp_path / "cli.jsonl").read_text().splitlines()

    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    # Many small blocks, so the budget really is cut over shards.
    dataset = ray.data.from_items(rows, override_num_blocks=8)
    selector = codeblock.Selector(tokenizer=open(tokenizer, "rb").read())
    selected = codeblock.ray.select(dataset, selector, batch_size=50).take_all()
    by_id = {json.loads(row["selected"])["id"]: row for row in selected}
    assert len(selected) == len(expected)
    in_order = [by_id[json.loads(line)["id"]] for line in expected]
    assert [row["selected"] for row in in_order] == expected
    # The training rows of the binary's lines (tests/python/test_export.py: = `codeblock export`).
    columns = selector.token_columns(expected)
    for name, values in columns.items():
        assert [list(row[name]) if name != "reject" else row[name] for row in in_order] == values
