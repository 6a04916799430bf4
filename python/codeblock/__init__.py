"""codeblock: CodeBlock token loss masks for code-LLM fine-tuning, from Python.

The Rust core (the same one as the `codeblock` command) does all the work; this package is a
thin shell over it and gives the same answers, byte for byte.

    import codeblock
    selector = codeblock.Selector(tokenizer=open("tokenizer.json", "rb").read())
    lines = selector.select_jsonl(open("pairs.jsonl", "rb").read())   # = codeblock select's output
"""

from ._codeblock import Selector

__all__ = ["Selector"]
