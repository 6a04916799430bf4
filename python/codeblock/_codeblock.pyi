"""Type stubs of the native module (python/src/lib.rs)."""

from typing import List, Optional

class Selector:
    """The pipeline's settings and tokenizer, ready to select. Picklable (its config, the
    tokenizer's JSON and a fitted n-gram model's counts), so `datasets.map(num_proc=N)` and Ray
    can ship it to workers. Every call releases the GIL; bad input raises ValueError."""

    def __init__(
        self, tokenizer: Optional[bytes] = None, config: Optional[str] = None, ngram: Optional[bytes] = None
    ) -> None:
        """`tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
        tokenizer); without one, a lexical fallback. `config`: the pipeline's knobs as JSON text,
        as `codeblock select --config` reads them (METHOD.md). `ngram`: a fitted n-gram model's
        counts (what pickling carries; `fitted` makes them)."""

    def select_jsonl(self, data: bytes, scores: Optional[bytes] = None) -> str:
        """The JSONL `codeblock select` writes for these input lines: one line per record,
        rejects included. `scores`: precomputed log-probs in any shape `select --scores` reads;
        without them the n-gram baseline, fitted on these lines (or the selector's fitted one)."""

    # The global budget as a map/reduce over shards of a dataset (`select_dataset` drives it).
    # Rows are JSON lines named by their line numbers (row i of a dataset is line i + 1).
    def fit(self, lines: List[str], numbers: List[int]) -> bytes:
        """Phase 0: the n-gram counts of these rows."""
    def fitted(self, counts: List[bytes]) -> "Selector":
        """This selector with the n-gram baseline fitted on every shard's counts."""
    def shortlist(
        self, lines: List[str], numbers: List[int], scores: Optional[bytes] = None
    ) -> List[Optional[bytes]]:
        """Phase 1: each row's shortlist for the budget, or None for a rejected row."""
    def cut(self, shortlists: List[Optional[bytes]]) -> List[Optional[bytes]]:
        """Phase 2, once over all rows' shortlists in row order: each row's share."""
    def apply(
        self, lines: List[str], numbers: List[int], chosen: List[Optional[bytes]], scores: Optional[bytes] = None
    ) -> List[str]:
        """Phase 3: each row's output line (`codeblock select`'s JSON) from its share."""
    def __reduce__(self) -> tuple: ...
