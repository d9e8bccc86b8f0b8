"""Dumps what the installed torchtitan says about each llama3 flavor, as JSON on stdout: every parameter's
shape (model built on the meta device), the architecture fields, and the rotary row orders its own
Llama3StateDictAdapter produces for wq/wk (rows labelled by their index)."""

import json
import sys

import torch
from torchtitan.models.llama3 import llama3_configs, model_registry

PERMUTATION_FLAVORS = ("debugmodel", "1B", "8B")


def rows_after(fn, rows, *args):
    labels = torch.arange(rows, dtype=torch.float64).unsqueeze(1).expand(rows, 2).contiguous()
    return [int(r) for r in fn(labels, *args)[:, 0].tolist()]


def describe(flavor):
    spec = model_registry(flavor)
    cfg = spec.model
    with torch.device("meta"):
        model = cfg.build()
    attn = cfg.layers[0].attention
    rope = attn.rope
    n_kv = attn.n_kv_heads or attn.n_heads
    head_dim = attn.head_dim or cfg.dim // attn.n_heads
    out = {
        "params": {k: list(v.shape) for k, v in model.state_dict().items()},
        "dim": cfg.dim,
        "n_layers": len(cfg.layers),
        "n_heads": attn.n_heads,
        "n_kv_heads": n_kv,
        "head_dim": head_dim,
        "ffn_hidden_dim": cfg.layers[0].feed_forward.w1.out_features,
        "vocab_size": cfg.vocab_size,
        "weight_tying": cfg.enable_weight_tying,
        "norm_eps": cfg.norm.eps,
        "rope": {
            "theta": rope.theta,
            "scaling": rope.scaling,
            "factor": rope.scaling_factor,
            "low_freq_factor": rope.low_freq_factor,
            "high_freq_factor": rope.high_freq_factor,
            "original_max_position_embeddings": rope.original_max_position_embeddings,
            "max_seq_len": rope.max_seq_len,
        },
    }
    if flavor in PERMUTATION_FLAVORS:
        adapter = spec.state_dict_adapter(cfg, None)
        q_rows, k_rows = attn.n_heads * head_dim, n_kv * head_dim
        out["permutations"] = {
            "wq_to_hf": rows_after(adapter._permute, q_rows, attn.n_heads),
            "wk_to_hf": rows_after(adapter._permute, k_rows, n_kv, k_rows, 2),
            "wq_from_hf": rows_after(adapter._reverse_permute, q_rows, attn.n_heads),
            "wk_from_hf": rows_after(adapter._reverse_permute, k_rows, n_kv, k_rows, 2),
        }
    return out


json.dump({flavor: describe(flavor) for flavor in llama3_configs}, sys.stdout)
