"""Type stubs of the native module (python/src/lib.rs)."""

from os import PathLike
from typing import Dict, List, Optional, Union

class Selector:
    """The pipeline's settings and a model's tokenizer (with its chat template and end tokens),
    ready to select and to make training rows. Picklable (config, tokenizer JSON, template, end
    tokens, a fitted n-gram model's counts), so `datasets.map(num_proc=N)` and Ray can ship it
    to workers. Every call releases the GIL; bad input raises ValueError."""

    def __init__(
        self,
        tokenizer: Optional[bytes] = None,
        config: Optional[str] = None,
        ngram: Optional[bytes] = None,
        tokenizer_config: Optional[str] = None,
        chat_template: Optional[str] = None,
        end_tokens: Optional[List[int]] = None,
    ) -> None:
        """`tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
        tokenizer, chat template and end tokens); without one, a lexical fallback (which selects
        but makes no training rows). `config`: the pipeline's knobs as JSON text, as `codeblock
        select --config` reads them (METHOD.md). `ngram`: a fitted n-gram model's counts (what
        pickling carries; `fitted` makes them). `tokenizer_config`: the text of a checkpoint's
        `tokenizer_config.json` (its chat template and end token). `chat_template` and
        `end_tokens` replace what the tokenizer came with."""

    @staticmethod
    def from_pretrained_files(
        tokenizer: Union[str, PathLike],
        chat_template: Optional[str] = None,
        budget: Optional[float] = None,
        config: Optional[str] = None,
    ) -> "Selector":
        """A selector for a model's files: a GGUF model, a `tokenizer.json` (with
        `tokenizer_config.json` and `chat_template.jinja` read from beside it when there), or a
        Hugging Face checkpoint folder holding them. `chat_template`: a template's text in place
        of the model's. `budget`: the fraction of response tokens to supervise, over `config`."""

    @property
    def has_tokenizer(self) -> bool:
        """Whether this selector has a model's tokenizer, and so can make training rows."""

    def select_jsonl(self, data: bytes, scores: Optional[bytes] = None) -> str:
        """The JSONL `codeblock select` writes for these input lines: one line per record,
        rejects included. `scores`: precomputed log-probs in any shape `select --scores` reads;
        without them the n-gram baseline, fitted on these lines (or the selector's fitted one)."""

    def token_columns(self, selected: List[str], mode: str = "codeblock", seed: int = 0) -> Dict[str, list]:
        """The training rows of `select` output lines as the columns of `codeblock export
        --format trl`: `input_ids` (prompt through the chat template, response ids, end token),
        `attention_mask`, `labels` (-100 where no loss), `assistant_masks`, and `reject` (None,
        or "reason: message" for a line that gives no row; its other columns are empty).
        `mode`: codeblock, full, random, random_items or mask (the line's `weights`)."""

    # The global budget as a map/reduce over shards of a dataset (`select_dataset` drives it).
    # Rows are JSON lines named by their line numbers (row i of a dataset is line i + 1).
    # `scores` is a scores file's bytes; `row_scores` one JSON object per row (None: none), in
    # any shape `select --scores` reads, without the id.
    def fit(self, lines: List[str], numbers: List[int]) -> bytes:
        """Phase 0: the n-gram counts of these rows."""
    def fitted(self, counts: List[bytes]) -> "Selector":
        """This selector with the n-gram baseline fitted on every shard's counts."""
    def shortlist(
        self,
        lines: List[str],
        numbers: List[int],
        scores: Optional[bytes] = None,
        row_scores: Optional[List[Optional[str]]] = None,
    ) -> List[Optional[bytes]]:
        """Phase 1: each row's shortlist for the budget, or None for a rejected row."""
    def cut(self, shortlists: List[Optional[bytes]]) -> List[Optional[bytes]]:
        """Phase 2, once over all rows' shortlists in row order: each row's share."""
    def apply(
        self,
        lines: List[str],
        numbers: List[int],
        chosen: List[Optional[bytes]],
        scores: Optional[bytes] = None,
        row_scores: Optional[List[Optional[str]]] = None,
    ) -> List[str]:
        """Phase 3: each row's output line (`codeblock select`'s JSON) from its share."""
    def __reduce__(self) -> tuple: ...
