"""`codeblock select` on Ray Data: the same three passes as `codeblock.select_dataset` (fit the
n-gram baseline on every block's counts, shortlist each row, cut the budget once in the driver,
write each row with its share), as `map_batches` over pyarrow blocks, so a cluster's workers
do the work and the driver holds only the counts, the shortlists and the shares.

    import ray, codeblock, codeblock.ray
    ds = ray.data.read_parquet("s3://bucket/pairs/")
    codeblock.ray.select(ds, selector).write_parquet("s3://bucket/selected/")

Row i of the dataset (in its order) is line i + 1 of the equivalent JSONL file, so the
`selected` column equals the binary's output on that file, byte for byte.
"""

import json

import pyarrow as pa

ROW = "_codeblock_row"


def _lines(table):
    """A block's rows (without the row number) as the JSON lines `codeblock select` reads; null
    fields are left out, as a row that lacks a field."""
    rows = table.drop_columns([ROW]).to_pylist()
    return [json.dumps({k: v for k, v in row.items() if v is not None}) for row in rows]


def _numbers(table):
    return [i + 1 for i in table.column(ROW).to_pylist()]


_FETCHED = {}


def _fetched(ref):
    """The shares from the object store, fetched once per worker process."""
    import ray

    key = ref.hex()
    if key not in _FETCHED:
        _FETCHED.clear()
        _FETCHED[key] = ray.get(ref)
    return _FETCHED[key]


def select(dataset, selector, batch_size=1000, column="selected"):
    """The dataset with a `column` holding each row's `codeblock select` output line (JSON)."""
    import ray

    numbered = dataset.zip(ray.data.range(dataset.count()).rename_columns({"id": ROW}))

    def fit(table):
        return pa.table({"counts": [selector.fit(_lines(table), _numbers(table))]})

    counts = [row["counts"] for row in numbered.map_batches(fit, batch_format="pyarrow", batch_size=batch_size).take_all()]
    fitted = selector.fitted(counts)

    def shortlist(table):
        return pa.table({ROW: table.column(ROW), "shortlist": fitted.shortlist(_lines(table), _numbers(table))})

    listed = numbered.map_batches(shortlist, batch_format="pyarrow", batch_size=batch_size).take_all()
    listed.sort(key=lambda row: row[ROW])
    shares = ray.put(fitted.cut([row["shortlist"] for row in listed]))

    def apply(table, shares):
        shares = _fetched(shares)
        chosen = [shares[i] for i in table.column(ROW).to_pylist()]
        selected = fitted.apply(_lines(table), _numbers(table), chosen)
        return table.drop_columns([ROW]).append_column(column, pa.array(selected, pa.string()))

    return numbered.map_batches(apply, batch_format="pyarrow", batch_size=batch_size, fn_kwargs={"shares": shares})
