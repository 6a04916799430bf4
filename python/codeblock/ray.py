"""`codeblock select` on Ray Data: the passes of `codeblock.batches` (fit the n-gram baseline on
every block's counts, shortlist each row, cut the budget once in the driver, write each row with
its share) as `map_batches` over pyarrow blocks, so a cluster's workers do the work and the
driver holds only the counts, the shortlists and the shares.

    import ray, codeblock, codeblock.ray
    ds = ray.data.read_parquet("s3://bucket/pairs/")
    codeblock.ray.select(ds, selector).write_parquet("s3://bucket/selected/")

Row i of the dataset (in its order when read; `DataContext.execution_options.preserve_order`
makes it deterministic) is line i + 1 of the equivalent JSONL file, so the `selected` column
equals the binary's output on that file, byte for byte. The numbered rows are materialized once
(in the object store, which spills to disk) so the passes see the same rows.
"""

import pyarrow as pa

from . import batches

ROW = "_codeblock_row"

_FETCHED = {}


def _fetched(ref):
    """The shares from the object store, fetched once per worker process."""
    import ray

    key = ref.hex()
    if key not in _FETCHED:
        _FETCHED.clear()
        _FETCHED[key] = ray.get(ref)
    return _FETCHED[key]


def _split(table):
    """A numbered block: its rows without the number, and their indices."""
    return table.drop_columns([ROW]), table.column(ROW).to_pylist()


def select(dataset, selector, batch_size=1000, column="selected", token_columns=None, mode="codeblock", seed=0):
    """The dataset with a `column` holding each row's `codeblock select` output line (JSON) and,
    with `token_columns`, the training columns of `codeblock export --format trl` and `reject`
    (see `codeblock.select_dataset`, which takes the same arguments)."""
    import ray

    if token_columns is None:
        token_columns = selector.has_tokenizer
    # Numbered once and materialized: the passes must see the same rows under the same numbers,
    # and Ray Data does not promise one order across executions of a dataset.
    numbered = dataset.zip(ray.data.range(dataset.count()).rename_columns({"id": ROW})).materialize()
    blocks = dict(batch_format="pyarrow", batch_size=batch_size)

    fitted = selector
    if not batches.scored(dataset.columns()):

        def fit(table):
            return pa.table({"counts": [batches.fit_batch(selector, *_split(table))]})

        fitted = selector.fitted([row["counts"] for row in numbered.map_batches(fit, **blocks).take_all()])

    def shortlist(table):
        return pa.table({ROW: table.column(ROW), "shortlist": batches.shortlist_batch(fitted, *_split(table))})

    listed = numbered.map_batches(shortlist, **blocks).take_all()
    listed.sort(key=lambda row: row[ROW])
    shares = ray.put(fitted.cut([row["shortlist"] for row in listed]))

    def apply(table, shares):
        rows, indices = _split(table)
        columns = batches.apply_batch(fitted, rows, indices, _fetched(shares), column, token_columns, mode, seed)
        for name, values in columns.items():
            kind = batches.TOKEN_SCHEMA.field(name).type if name in batches.TOKEN_SCHEMA.names else pa.string()
            rows = rows.append_column(name, pa.array(values, kind))
        return rows

    return numbered.map_batches(apply, fn_kwargs={"shares": shares}, **blocks)
