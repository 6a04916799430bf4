"""Type stubs of the native module (python/src/lib.rs)."""

from typing import Optional

class Selector:
    """The pipeline's settings and tokenizer, ready to select. Picklable (its config and the
    tokenizer's JSON), so `datasets.map(num_proc=N)` and Ray can ship it to workers."""

    def __init__(self, tokenizer: Optional[bytes] = None, config: Optional[str] = None) -> None:
        """`tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
        tokenizer); without one, a lexical fallback. `config`: the pipeline's knobs as JSON text,
        as `codeblock select --config` reads them (METHOD.md). Raises ValueError on bad input."""

    def select_jsonl(self, data: bytes, scores: Optional[bytes] = None) -> str:
        """The JSONL `codeblock select` writes for these input lines: one line per record,
        rejects included. `scores`: precomputed log-probs in any shape `select --scores` reads;
        without them the n-gram baseline, fitted on these lines. Releases the GIL."""

    def __reduce__(self) -> tuple: ...
