"""The global budget's passes over one batch of rows, for any engine that maps batches:
`select_dataset` (Hugging Face datasets) and `codeblock.ray` use them, and so can Spark's
`mapInArrow` or a plain loop. A batch is a dict of columns or a pyarrow `RecordBatch`/`Table`;
`indices` are its rows' positions in the whole dataset (row i is line i + 1 of the equivalent
JSONL file). Each function keeps one output per input row.

    counts = [fit_batch(selector, b, ix) for b, ix in batches]          # pass 1 (skip when scored)
    fitted = selector.fitted(counts)
    shortlists = [s for b, ix in batches for s in shortlist_batch(fitted, b, ix)]   # pass 2
    shares = fitted.cut(shortlists)                                      # once, rows in order
    columns = apply_batch(fitted, b, ix, shares)                         # pass 3, per batch
"""

import json

import pyarrow as pa

# Columns that hold a row's precomputed log-probs (any shape `select --scores` reads, without
# the id): `logprobs` with `token_ids` as `codeblock score` writes them (+ `prompt_len` for a
# full sequence), or vLLM's `prompt_logprobs` (+ `prompt_token_ids`).
SCORE_COLUMNS = ("token_ids", "logprobs", "prompt_len", "prompt_logprobs", "prompt_token_ids")

# The types of `Selector.token_columns`, as `codeblock export --format trl` writes them.
TOKEN_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("attention_mask", pa.list_(pa.int8())),
        ("labels", pa.list_(pa.int64())),
        ("assistant_masks", pa.list_(pa.int8())),
        ("reject", pa.string()),
    ]
)


def scored(columns):
    """Whether rows with these columns bring their own scores."""
    return "logprobs" in columns or "prompt_logprobs" in columns


def read(batch, indices):
    """A batch's rows as the JSON lines `select` reads, their line numbers, and, when the rows
    bring scores, each row's as a JSON object (None for a row without). A dataset cannot tell a
    missing field from a null one (it fills columns a row lacks with None), so None fields are
    left out, as they would be absent from the row's own JSON line."""
    if isinstance(batch, (pa.RecordBatch, pa.Table)):
        columns, rows = batch.schema.names, batch.to_pylist()
    else:
        columns, rows = list(batch), [dict(zip(batch, values)) for values in zip(*batch.values())]
    with_scores = scored(columns)
    records, scores = [], []
    for row in rows:
        kept = {k: v for k, v in row.items() if v is not None and not (with_scores and k in SCORE_COLUMNS)}
        records.append(json.dumps(kept))
        if with_scores:
            given = {k: row[k] for k in SCORE_COLUMNS if row.get(k) is not None}
            scores.append(json.dumps(given) if given else None)
    return records, [i + 1 for i in indices], (scores if with_scores else None)


def fit_batch(selector, batch, indices):
    """Pass 1: the batch's n-gram counts, for `Selector.fitted`."""
    records, numbers, _ = read(batch, indices)
    return selector.fit(records, numbers)


def shortlist_batch(fitted, batch, indices):
    """Pass 2: each row's shortlist (None for a rejected row), for `Selector.cut`."""
    records, numbers, scores = read(batch, indices)
    return fitted.shortlist(records, numbers, row_scores=scores)


def apply_batch(
    fitted, batch, indices, shares, column="selected", token_columns=False, mode="codeblock", seed=0
):
    """Pass 3: the new columns of the batch's rows: `column` (each row's `select` output line,
    from its share in `shares`, `cut`'s list over all rows) and, with `token_columns`,
    `Selector.token_columns` for `mode` and `seed`."""
    records, numbers, scores = read(batch, indices)
    selected = fitted.apply(records, numbers, [shares[i] for i in indices], row_scores=scores)
    columns = {column: selected}
    if token_columns:
        columns.update(fitted.token_columns(selected, mode=mode, seed=seed))
    return columns
