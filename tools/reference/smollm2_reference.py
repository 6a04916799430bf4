"""Golden log-probs for SmolLM2-135M-Instruct (Q4_1 GGUF) from an independent float64 NumPy
forward pass, for `tests/smollm2.rs`.

Weights are dequantized by PyPI `gguf` (llama.cpp's own package). The token ids of the prompts
come from the Hugging Face `tokenizers` library, built here from the GGUF vocabulary the way
SmolLM2's tokenizer.json is (digits split one by one, then byte-level BPE). The forward pass is
the Llama recipe written out in NumPy: RMSNorm, RoPE on adjacent pairs (the layout llama.cpp
stores q/k in), grouped-query attention, SwiGLU, tied LM head. Regenerate with:

    pip install gguf==0.19.0 numpy tokenizers
    python3 tools/reference/smollm2_reference.py ~/.cache/codeblock/SmolLM2-135M-Instruct.Q4_1.gguf
"""

import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from tokenizers import Tokenizer

OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "smollm2_golden.json"
PROMPTS = [
    "<|im_start|>user\nWrite a Python function that returns the sum of a list.<|im_end|>\n"
    "<|im_start|>assistant\n```python\ndef total(values):\n    return sum(values)\n```",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
]
GREEDY_PROMPT = "<|im_start|>user\nWrite a Python function that checks whether a number is even.<|im_end|>\n<|im_start|>assistant\n"
GREEDY_STEPS = 24


def field(reader, key):
    f = reader.fields[key]
    if len(f.data) == 1 and not key.endswith(("tokens", "merges", "token_type")):
        return f.contents()
    return [f.contents(i) for i in range(len(f.data))]


def tokenizer(reader):
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = field(reader, "tokenizer.ggml.merges")
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, (t, k) in enumerate(zip(tokens, types)) if k == 3]
    spec = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }
    return Tokenizer.from_str(json.dumps(spec))


class Model:
    def __init__(self, reader):
        self.tensors = {t.name: t for t in reader.tensors}
        get = lambda key: field(reader, f"llama.{key}")
        self.layers = get("block_count")
        self.heads = get("attention.head_count")
        self.kv_heads = get("attention.head_count_kv")
        self.hidden = get("embedding_length")
        self.head_dim = self.hidden // self.heads
        self.theta = get("rope.freq_base")
        self.eps = get("attention.layer_norm_rms_epsilon")
        self.cache = {}

    def w(self, name):
        if name not in self.cache:
            t = self.tensors[name]
            values = dequantize(t.data, t.tensor_type).astype(np.float64)
            self.cache[name] = values.reshape([int(d) for d in reversed(t.shape)])
        return self.cache[name]

    def norm(self, x, name):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * self.w(name)

    def rope(self, x):  # x: [heads, T, head_dim], adjacent pairs rotate together
        t = np.arange(x.shape[1])[:, None]
        freqs = self.theta ** (-np.arange(0, self.head_dim, 2) / self.head_dim)
        angle = t * freqs[None, :]
        cos, sin = np.cos(angle), np.sin(angle)
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    def logits(self, ids):
        x = self.w("token_embd.weight")[ids]
        n = len(ids)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        rep = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"blk.{i}."
            h = self.norm(x, p + "attn_norm.weight")
            q = (h @ self.w(p + "attn_q.weight").T).reshape(n, self.heads, self.head_dim).transpose(1, 0, 2)
            k = (h @ self.w(p + "attn_k.weight").T).reshape(n, self.kv_heads, self.head_dim).transpose(1, 0, 2)
            v = (h @ self.w(p + "attn_v.weight").T).reshape(n, self.kv_heads, self.head_dim).transpose(1, 0, 2)
            q, k = self.rope(q), self.rope(k)
            k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(self.head_dim) + mask
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = (scores / scores.sum(-1, keepdims=True)) @ v
            x = x + attn.transpose(1, 0, 2).reshape(n, self.hidden) @ self.w(p + "attn_output.weight").T
            h = self.norm(x, p + "ffn_norm.weight")
            gate = h @ self.w(p + "ffn_gate.weight").T
            up = h @ self.w(p + "ffn_up.weight").T
            x = x + (gate / (1 + np.exp(-gate)) * up) @ self.w(p + "ffn_down.weight").T
        return self.norm(x, "output_norm.weight") @ self.w("token_embd.weight").T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def main(path):
    reader = GGUFReader(path)
    tok = tokenizer(reader)
    model = Model(reader)
    golden = {"prompts": [], "greedy": {}}
    for text in PROMPTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        lp = log_softmax(model.logits(ids))
        scores = [float(lp[i, ids[i + 1]]) for i in range(len(ids) - 1)]
        golden["prompts"].append({"text": text, "ids": ids, "logprobs": scores})
    ids = tok.encode(GREEDY_PROMPT, add_special_tokens=False).ids
    prompt_ids = list(ids)
    for _ in range(GREEDY_STEPS):
        ids.append(int(model.logits(ids)[-1].argmax()))
    golden["greedy"] = {"text": GREEDY_PROMPT, "ids": prompt_ids, "continuation": ids[len(prompt_ids):],
                        "decoded": tok.decode(ids[len(prompt_ids):])}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    print("wrote", OUT, "greedy:", repr(golden["greedy"]["decoded"]))


if __name__ == "__main__":
    main(sys.argv[1])
