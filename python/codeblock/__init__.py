"""codeblock: CodeBlock token loss masks for code-LLM fine-tuning, from Python.

The Rust core (the same one as the `codeblock` command) does all the work; this package is a
thin shell over it and gives the same answers, byte for byte.

    import codeblock
    selector = codeblock.Selector.from_pretrained_files("path/to/model", budget=0.019)
    lines = selector.select_jsonl(open("pairs.jsonl", "rb").read())   # = codeblock select's output
    dataset = codeblock.select_dataset(dataset, selector, num_proc=8)  # + `selected` and TRL's columns
"""

from . import batches
from ._codeblock import Selector
from .batches import apply_batch, fit_batch, shortlist_batch

__all__ = ["Selector", "select_dataset", "fit_batch", "shortlist_batch", "apply_batch"]


def select_dataset(
    dataset, selector, num_proc=None, batch_size=1000, column="selected", token_columns=None, mode="codeblock", seed=0
):
    """`codeblock select` over a Hugging Face `datasets.Dataset`, whose rows are records in any
    input schema: the dataset with a `column` holding each row's output line (JSON), equal to
    what the binary writes for the same rows as a JSONL file (row i is line i + 1), however many
    processes.

    The global budget is exact: the n-gram baseline is fitted on every shard's counts, added up
    (one pass), each row's candidates are shortlisted (a second pass), the budget is cut once
    here, and each row is written with its share (a third pass). Rows that bring their own
    log-probs (a `logprobs` column, with `token_ids`, as `codeblock score` writes them; or
    vLLM's `prompt_logprobs`) are scored with them instead, as `select --scores` would.

    `token_columns` (default: when the selector has a model's tokenizer) adds the training
    columns of `codeblock export --format trl` for `mode` (codeblock, full, random,
    random_items, mask) and `seed`: `input_ids`, `attention_mask`, `labels` (-100 where no
    loss), `assistant_masks`, and `reject`, the reason a row gives no training row (its token
    columns are then empty; drop such rows before training).
    """
    import datasets

    if token_columns is None:
        token_columns = selector.has_tokenizer
    passes = dict(batched=True, batch_size=batch_size, num_proc=num_proc, with_indices=True)
    fitted = selector
    if not batches.scored(dataset.column_names):

        def fit(batch, indices):
            return {"counts": [fit_batch(selector, batch, indices)]}

        fitted = selector.fitted(dataset.map(fit, remove_columns=dataset.column_names, **passes)["counts"])

    def shortlist(batch, indices):
        return {"shortlist": shortlist_batch(fitted, batch, indices)}

    shares = fitted.cut(dataset.map(shortlist, remove_columns=dataset.column_names, **passes)["shortlist"])

    def apply(batch, indices):
        return apply_batch(fitted, batch, indices, shares, column, token_columns, mode, seed)

    features = dataset.features.copy()
    features[column] = datasets.Value("string")
    if token_columns:
        features.update(datasets.Features.from_arrow_schema(batches.TOKEN_SCHEMA))
    return dataset.map(apply, features=features, **passes)
