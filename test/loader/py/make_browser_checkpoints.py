"""Checkpoints the browser loader tests serve, written by real torch and safetensors.

<out>/dcp1d, <out>/dcp2d: torch.distributed.checkpoint saves by 4 gloo processes (test/dcp/py/save_sharded.py:
a 1-d mesh with Shard(0), a 2 x 2 mesh with (Shard(0), Shard(1))), each with expected.json.
<out>/model.pt: torch.save of a state dict; <out>/hf: a two-shard HF folder with model.safetensors.index.json.
<out>/expected_pt.json, <out>/expected_hf.json: name -> dtype, shape, hex of the tensor's bytes.

usage: make_browser_checkpoints.py <out>
"""
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import save_file


def hexbytes(t: torch.Tensor) -> str:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def expected(sd):
    return {k: {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape), "hex": hexbytes(v)}
            for k, v in sd.items()}


def state(seed: int):
    g = torch.Generator().manual_seed(seed)
    return {
        "tok_embeddings.weight": torch.randn(33, 24, generator=g),
        "layers.0.attention.wq.weight": torch.randn(24, 24, generator=g).to(torch.bfloat16),
        "layers.0.feed_forward.w1.weight": torch.randn(17, 24, generator=g).to(torch.float16),
        "norm.weight": torch.randn(7, generator=g).to(torch.bfloat16),
        "output.weight": torch.randn(9, 24, generator=g),
        # 256 KiB: larger than the windows a load reads ahead, so cached copies fetch most blocks themselves.
        "layers.0.attention.wo.weight": torch.randn(256, 256, generator=g),
        "token_ids": torch.randint(-1000, 1000, (5, 3), generator=g, dtype=torch.int32),
    }


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    sharded = os.path.join(here, "..", "..", "dcp", "py", "save_sharded.py")
    for mesh in ("1d", "2d"):
        subprocess.run([sys.executable, sharded, os.path.join(out, f"dcp{mesh}"), "4", mesh], check=True)

    pt = state(1)
    torch.save(pt, os.path.join(out, "model.pt"))
    with open(os.path.join(out, "expected_pt.json"), "w") as f:
        json.dump(expected(pt), f)

    hf = state(2)
    names = sorted(hf)
    shards = {"model-00001-of-00002.safetensors": names[:3], "model-00002-of-00002.safetensors": names[3:]}
    os.makedirs(os.path.join(out, "hf"), exist_ok=True)
    weight_map = {}
    for file, keys in shards.items():
        save_file({k: hf[k].contiguous() for k in keys}, os.path.join(out, "hf", file), metadata={"format": "pt"})
        weight_map.update({k: file for k in keys})
    total = sum(v.numel() * v.element_size() for v in hf.values())
    with open(os.path.join(out, "hf", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
    with open(os.path.join(out, "expected_hf.json"), "w") as f:
        json.dump(expected(hf), f)


if __name__ == "__main__":
    main()
