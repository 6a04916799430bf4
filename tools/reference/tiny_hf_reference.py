"""Tiny random Llama and Qwen2 checkpoints in Hugging Face layout, with golden logits.

Writes tests/data/tiny/{llama,qwen2}/ (config.json, model.safetensors or shards with
model.safetensors.index.json) and logits.json: the logits of a fixed token sequence from a
float64 NumPy forward pass written the Hugging Face way (RoPE on rotate-half pairs, no weight
permutation), independent of codeblock's adjacent-pair layout. Regenerate with:

    pip install numpy safetensors
    python3 tools/reference/tiny_hf_reference.py
"""

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "tiny"
IDS = [1, 5, 9, 2, 33, 60, 7, 7, 12, 40]
CONFIGS = {
    "llama": dict(model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=64, hidden_size=32,
                  intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  rope_theta=10000.0, rms_norm_eps=1e-5, max_position_embeddings=128, tie_word_embeddings=True,
                  torch_dtype="float32"),
    "qwen2": dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], vocab_size=64, hidden_size=32,
                  intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                  rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=128, tie_word_embeddings=False,
                  torch_dtype="float32"),
}


def weights(c, rng):
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = d // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (v, d)), "model.norm.weight": 1 + rng.normal(0, 0.1, d)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.update({
            p + "input_layernorm.weight": 1 + rng.normal(0, 0.1, d),
            p + "post_attention_layernorm.weight": 1 + rng.normal(0, 0.1, d),
            p + "self_attn.q_proj.weight": rng.normal(0, 0.2, (d, d)),
            p + "self_attn.k_proj.weight": rng.normal(0, 0.2, (kv, d)),
            p + "self_attn.v_proj.weight": rng.normal(0, 0.2, (kv, d)),
            p + "self_attn.o_proj.weight": rng.normal(0, 0.2, (d, d)),
            p + "mlp.gate_proj.weight": rng.normal(0, 0.2, (f, d)),
            p + "mlp.up_proj.weight": rng.normal(0, 0.2, (f, d)),
            p + "mlp.down_proj.weight": rng.normal(0, 0.2, (d, f)),
        })
        if c["model_type"] == "qwen2":
            for name, size in (("q", d), ("k", kv), ("v", kv)):
                w[p + f"self_attn.{name}_proj.bias"] = rng.normal(0, 0.2, size)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = rng.normal(0, 0.5, (v, d))
    return {k: np.asarray(a, dtype=np.float32) for k, a in w.items()}


def forward(c, w, ids):
    w = {k: a.astype(np.float64) for k, a in w.items()}
    d, h, kvh = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd, n, eps = d // h, len(ids), c["rms_norm_eps"]
    norm = lambda x, g: x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g
    inv = c["rope_theta"] ** (-np.arange(0, hd, 2) / hd)
    angle = np.arange(n)[:, None] * inv[None, :]
    cos, sin = np.cos(np.concatenate([angle, angle], -1)), np.sin(np.concatenate([angle, angle], -1))
    rot = lambda x: np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    rope = lambda x: x * cos + rot(x) * sin
    lin = lambda x, name: x @ w[name + ".weight"].T + w.get(name + ".bias", 0)
    x = w["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        y = norm(x, w[p + "input_layernorm.weight"])
        q = lin(y, p + "self_attn.q_proj").reshape(n, h, hd).transpose(1, 0, 2)
        k = lin(y, p + "self_attn.k_proj").reshape(n, kvh, hd).transpose(1, 0, 2)
        v = lin(y, p + "self_attn.v_proj").reshape(n, kvh, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        k, v = np.repeat(k, h // kvh, 0), np.repeat(v, h // kvh, 0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        x = x + lin(a.transpose(1, 0, 2).reshape(n, d), p + "self_attn.o_proj")
        y = norm(x, w[p + "post_attention_layernorm.weight"])
        g = lin(y, p + "mlp.gate_proj")
        x = x + lin(g / (1 + np.exp(-g)) * lin(y, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = norm(x, w["model.norm.weight"])
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def main():
    rng = np.random.default_rng(11)
    golden = {"ids": IDS}
    for name, c in CONFIGS.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        w = weights(c, rng)
        (folder / "config.json").write_text(json.dumps(c, indent=1) + "\n")
        if name == "qwen2":  # two shards with an index, as big checkpoints come
            keys = sorted(w)
            shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
                      "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
            for shard, names in shards.items():
                save_file({k: w[k] for k in names}, str(folder / shard))
            index = {"metadata": {}, "weight_map": {k: s for s, names in shards.items() for k in names}}
            (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=1) + "\n")
        else:
            save_file(w, str(folder / "model.safetensors"))
        golden[name] = forward(c, w, IDS).tolist()
    (OUT / "logits.json").write_text(json.dumps(golden) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
