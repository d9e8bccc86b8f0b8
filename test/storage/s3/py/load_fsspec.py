"""Loads a checkpoint webdcp wrote to S3 with PyTorch's own readers and compares it with <expected.pt>
(save_fsspec.py), bit for bit. Credentials come from the AWS_* environment.

usage:
  load_fsspec.py <endpoint> dcp <s3://bucket/prefix> <expected.pt>
      dcp.load through torch.distributed.checkpoint's FsspecReader (s3fs), whatever the rank count
  load_fsspec.py <endpoint> safetensors-bf16 <s3://bucket/prefix> <expected.pt>
      the index and shards read with s3fs and loaded by safetensors; floating tensors compared after .to(bfloat16)
Prints one JSON line {"ok": bool, "errors": [...], "keys": [...]}.
"""
import json
import sys

import s3fs
import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import load as load_safetensors
from torch.distributed.checkpoint import FsspecReader


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


def main():
    endpoint, mode, url, expected_path = sys.argv[1:5]
    expected = torch.load(expected_path)
    errors = []
    if mode == "dcp":
        sd = {k: torch.empty_like(v) for k, v in expected.items()}
        sd["train_state.step"] = 0
        sd["train_state.lrs"] = []
        nested = {}
        for k, v in sd.items():
            g, name = k.split(".", 1)
            nested.setdefault(g, {})[name] = v
        dcp.load(nested, storage_reader=FsspecReader(url, endpoint_url=endpoint))
        got = {f"{g}.{k}": v for g, d in nested.items() for k, v in d.items()}
        if got["train_state.step"] != 17 or got["train_state.lrs"] != [0.5, 0.25]:
            errors.append(f"train_state differs: {got['train_state.step']} {got['train_state.lrs']}")
        want = expected
    elif mode == "safetensors-bf16":
        fs = s3fs.S3FileSystem(endpoint_url=endpoint)
        root = url[len("s3://"):].rstrip("/")
        index = json.loads(fs.cat(f"{root}/model.safetensors.index.json"))
        got = {}
        for shard in sorted(set(index["weight_map"].values())):
            got.update(load_safetensors(fs.cat(f"{root}/{shard}")))
        want = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in expected.items()}
    else:
        raise SystemExit(f"unknown mode {mode}")
    for k, v in want.items():
        if k not in got:
            errors.append(f"missing {k}")
        elif not same(got[k], v):
            errors.append(f"differs {k}")
    errors += [f"unexpected {k}" for k in got if k not in want and not k.startswith("train_state")]
    print(json.dumps({"ok": not errors, "errors": errors, "keys": sorted(got)}))


if __name__ == "__main__":
    main()
