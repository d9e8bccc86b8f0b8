"""PyTorch saves a multi-rank DCP checkpoint to S3 through torch.distributed.checkpoint's fsspec writer (s3fs),
as TorchTitan does with an s3:// checkpoint folder: `world` gloo processes on 127.0.0.1, each holding its Shard(0)
of DTensors, plus a 0-d tensor and training values. Also writes the full tensors to <expected.pt> (local) for the
checks. Credentials come from the AWS_* environment.

usage: save_fsspec.py <endpoint> <s3://bucket/prefix> <world> <rows of model.w> <expected.pt> [layers]
  layers: also model.layers.<i>.w (rows/4 x 64) for i < layers, so outputs have many files of similar size
"""
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.checkpoint import FsspecWriter
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor


def full_state(rows, layers):
    g = torch.Generator().manual_seed(13)
    state = {
        "model": {
            "w": torch.randn(rows, 64, generator=g),
            "emb": torch.randn(10, 6, generator=g).to(torch.bfloat16),
            "norm": torch.randn(6, generator=g),
            "ids": torch.arange(12, dtype=torch.int64).reshape(4, 3),
        },
        "optimizer": {"step": torch.tensor(5.0)},
    }
    for i in range(layers):
        state["model"][f"layers.{i}.w"] = torch.randn(rows // 4, 64, generator=g)
    return state


def worker(rank, world, port, endpoint, url, rows, layers):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mesh = init_device_mesh("cpu", (world,))
    sd = {}
    for group, tensors in full_state(rows, layers).items():
        sd[group] = {k: v if v.dim() == 0 else distribute_tensor(v, mesh, [Shard(0)]) for k, v in tensors.items()}
    sd["train_state"] = {"step": 17, "lrs": [0.5, 0.25]}
    dcp.save(sd, storage_writer=FsspecWriter(url, endpoint_url=endpoint))
    dist.barrier()
    # gloo's threads can abort a finalizing interpreter after all work is done; leave without teardown.
    os._exit(0)


def main():
    endpoint, url, world, rows, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    layers = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    flat = {f"{g}.{k}": v for g, tensors in full_state(rows, layers).items() for k, v in tensors.items()}
    torch.save(flat, expected)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(worker, args=(world, port, endpoint, url, rows, layers), nprocs=world, join=True, start_method="spawn")


if __name__ == "__main__":
    main()
