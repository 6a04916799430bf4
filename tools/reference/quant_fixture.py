"""Writes core/tests/data/quants.gguf and its golden dequantization, quants.json.

One small tensor of every type codeblock dequantizes, filled with random blocks whose f16
scales are kept finite, and dequantized by the reference implementation (PyPI `gguf`, the
llama.cpp project's own Python package). Regenerate with:

    pip install gguf==0.19.0 numpy
    python3 tools/reference/quant_fixture.py
"""

import json
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFWriter
from gguf.quants import GGML_QUANT_SIZES, dequantize

OUT = Path(__file__).resolve().parents[2] / "core" / "tests" / "data"
TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]
# Byte offsets of the f16 scales in each block, rewritten to small finite values.
F16_AT = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
          T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}

rng = np.random.default_rng(7)
writer = GGUFWriter(str(OUT / "quants.gguf"), "llama")
writer.add_string("codeblock.fixture", "quants")
golden = {}
for kind in TYPES:
    per_block, block_bytes = GGML_QUANT_SIZES[kind]
    rows, cols = 2, max(per_block, 64) * 2
    name = f"t.{kind.name}"
    if kind == T.F32:
        values = rng.standard_normal((rows, cols)).astype(np.float32)
        writer.add_tensor(name, values)
        golden[name] = values.reshape(-1).tolist()
        continue
    if kind in (T.F16, T.BF16):
        values = rng.standard_normal((rows, cols)).astype(np.float32)
        raw = values.astype(np.float16).view(np.uint8) if kind == T.F16 else \
            (values.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    else:
        blocks = rng.integers(0, 256, size=(rows * cols // per_block, block_bytes), dtype=np.uint8)
        for at in F16_AT[kind]:
            scale = (rng.random(len(blocks)) * 0.1 + 0.01).astype(np.float16)
            blocks[:, at:at + 2] = scale.view(np.uint8).reshape(-1, 2)
        raw = blocks
    raw = raw.reshape(rows, -1)
    writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=kind)
    golden[name] = dequantize(raw, kind).astype(np.float32).reshape(-1).tolist()
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
(OUT / "quants.json").write_text(json.dumps(golden) + "\n")
print("wrote", OUT / "quants.gguf", "and quants.json")
