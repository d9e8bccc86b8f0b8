"""Loads an HF last save with torchtune's FullModelHFCheckpointer as llama3 and compares it with a DCP
reference of the same model in TorchTitan's names.

  python torchtune_check.py <hf_dir> <reference_dcp_dir> <work_dir>

Prints one JSON line: keys compared and the largest difference (torchtune undoes HF's rotary row order,
which gives back TorchTitan's rows, so every tensor must be equal).
"""
import json
import os
import sys

import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
from torchtune.training.checkpointing import FullModelHFCheckpointer

hf_dir, ref_dir, work = sys.argv[1:]
files = sorted(f for f in os.listdir(hf_dir) if f.endswith(".safetensors"))
checkpointer = FullModelHFCheckpointer(checkpoint_dir=hf_dir, checkpoint_files=files, model_type="LLAMA3", output_dir=os.path.join(work, "tune-out"))
tune = checkpointer.load_checkpoint()["model"]

ref_path = os.path.join(work, "ref.pt")
dcp_to_torch_save(ref_dir, ref_path)
ref = torch.load(ref_path, weights_only=True)


def titan_name(tune_name):
    rules = [
        ("attn.q_proj.weight", "attention.qkv_linear.wq.weight"),
        ("attn.k_proj.weight", "attention.qkv_linear.wk.weight"),
        ("attn.v_proj.weight", "attention.qkv_linear.wv.weight"),
        ("attn.output_proj.weight", "attention.wo.weight"),
        ("sa_norm.scale", "attention_norm.weight"),
        ("mlp_norm.scale", "ffn_norm.weight"),
        ("mlp.w1.weight", "feed_forward.w1.weight"),
        ("mlp.w2.weight", "feed_forward.w2.weight"),
        ("mlp.w3.weight", "feed_forward.w3.weight"),
    ]
    if tune_name == "norm.scale":
        return "norm.weight"
    if tune_name == "output.weight":
        return "lm_head.weight"
    for a, b in rules:
        if tune_name.endswith(a):
            return tune_name[: -len(a)] + b
    return tune_name


diffs = {}
for name, t in tune.items():
    r = ref[titan_name(name)]
    diffs[name] = float((t.float() - r.float()).abs().max()) if t.shape == r.shape else float("inf")
print(json.dumps({"keys": len(tune), "ref_keys": len(ref), "dtypes": sorted({str(t.dtype) for t in tune.values()}),
                  "max_abs_diff": max(diffs.values())}))
