"""Writes a 2-rank DCP checkpoint with torch's own dcp.save (gloo on 127.0.0.1) whose float32 tensors are
MB-sized: two sharded on dim 0, one on dim 1, plus a scalar and an int64 tensor kept whole. Also writes the
full expected state with torch.save. For the casts by descriptor (test/deno/descriptor_cast.test.ts).

usage: make_dcp_cast.py <out_dir> <expected.pt>
"""
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor


def full_state():
    g = torch.Generator().manual_seed(11)
    return {
        "a.weight": torch.randn(3000, 1024, generator=g) * 3,
        "b.weight": torch.randn(601, 999, generator=g),
        "cols.weight": torch.randn(64, 4096, generator=g),
        "scale": torch.tensor(0.25),
        "ids": torch.arange(10),
    }


def run(rank, out_dir, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    mesh = init_device_mesh("cpu", (2,))
    state = {}
    for k, v in full_state().items():
        whole = v.dim() == 0 or k == "ids"
        state[k] = v if whole else distribute_tensor(v, mesh, [Shard(1 if k == "cols.weight" else 0)])
    dcp.save(state, checkpoint_id=out_dir)
    # Leave together, then skip teardown (gloo's threads can abort a finalizing interpreter).
    dist.barrier()
    os._exit(0)


if __name__ == "__main__":
    out_dir, expected = sys.argv[1], sys.argv[2]
    torch.save(full_state(), expected)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(run, args=(out_dir, port), nprocs=2, join=True)
