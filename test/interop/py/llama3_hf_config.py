"""Checks a config.json written for a TorchTitan llama3 flavor against transformers and torchtitan.

usage: llama3_hf_config.py FLAVOR=CONFIG_DIR...
Prints JSON, per flavor: the HF state-dict shapes of LlamaForCausalLM built (meta device) from CONFIG_DIR, whether the
config ties embeddings, and the largest gap between HF's RoPE cos/sin and TorchTitan's RoPE cache at a few
positions (including ones far past the original context, where llama3 scaling matters)."""

import dataclasses
import json
import sys

import torch
from torchtitan.models.llama3 import model_registry
from transformers import AutoConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

POSITIONS = [0, 1, 7, 1000, 8191, 30000, 131071]

def check(flavor, config_dir):
    config = AutoConfig.from_pretrained(config_dir)
    with torch.device("meta"):
        hf_model = LlamaForCausalLM(config)
    shapes = {k: list(v.shape) for k, v in hf_model.state_dict().items()}

    rope_cfg = model_registry(flavor).model.layers[0].attention.rope
    titan_rope = dataclasses.replace(rope_cfg, max_seq_len=max(POSITIONS) + 1).build()
    titan = titan_rope.cache[POSITIONS]  # [P, head_dim/2] complex64

    hf_rope = LlamaRotaryEmbedding(config)
    position_ids = torch.tensor([POSITIONS])
    cos, sin = hf_rope(torch.zeros(1, dtype=torch.float32), position_ids)
    half = titan.shape[-1]
    gap = max((cos[0, :, :half] - titan.real).abs().max().item(), (sin[0, :, :half] - titan.imag).abs().max().item())

    return {
        "shapes": shapes,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "rope_type": config.rope_parameters["rope_type"],
        "rope_gap": gap,
        "dtype": str(config.dtype),
    }


print(json.dumps({f: check(f, d) for f, d in (arg.split("=", 1) for arg in sys.argv[1:])}))
