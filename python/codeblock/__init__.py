"""codeblock: CodeBlock token loss masks for code-LLM fine-tuning, from Python.

The Rust core (the same one as the `codeblock` command) does all the work; this package is a
thin shell over it and gives the same answers, byte for byte.

    import codeblock
    selector = codeblock.Selector(tokenizer=open("tokenizer.json", "rb").read())
    lines = selector.select_jsonl(open("pairs.jsonl", "rb").read())   # = codeblock select's output
    dataset = codeblock.select_dataset(dataset, selector, num_proc=8)  # a `selected` column, the same
"""

import json

from ._codeblock import Selector

__all__ = ["Selector", "select_dataset"]


def _lines(batch):
    """A batch of rows as the JSON lines `codeblock select` would read. A dataset cannot tell a
    missing field from a null one (it fills columns a row lacks with None), so None fields are
    left out, as they would be absent from the row's own JSON line."""
    columns = list(batch)
    rows = len(batch[columns[0]]) if columns else 0
    return [json.dumps({c: batch[c][i] for c in columns if batch[c][i] is not None}) for i in range(rows)]


def select_dataset(dataset, selector, num_proc=None, batch_size=1000, column="selected"):
    """`codeblock select` over a Hugging Face `datasets.Dataset`, whose rows are records in any
    input schema: the dataset with a `column` holding each row's output line (JSON), equal to
    what the binary writes for the same rows as a JSONL file (row i is line i + 1), however many
    processes. The global budget is exact: the n-gram baseline is fitted on every shard's
    counts, added up (one pass), each row's candidates are shortlisted (a second pass), the
    budget is cut once here, and each row is written with its share (a third pass)."""
    passes = dict(batched=True, batch_size=batch_size, num_proc=num_proc, with_indices=True)
    numbers = lambda indices: [i + 1 for i in indices]  # noqa: E731

    def fit(batch, indices):
        return {"counts": [selector.fit(_lines(batch), numbers(indices))]}

    counts = dataset.map(fit, remove_columns=dataset.column_names, **passes)["counts"]
    fitted = selector.fitted(counts)

    def shortlist(batch, indices):
        return {"shortlist": fitted.shortlist(_lines(batch), numbers(indices))}

    shortlists = dataset.map(shortlist, remove_columns=dataset.column_names, **passes)["shortlist"]
    chosen = fitted.cut(shortlists)

    def apply(batch, indices):
        return {column: fitted.apply(_lines(batch), numbers(indices), [chosen[i] for i in indices])}

    return dataset.map(apply, **passes)
