"""Writes a 2-rank DCP checkpoint with torch's own dcp.save (gloo on 127.0.0.1), in the shape a TorchTitan
training checkpoint has: flat model keys sharded on dim 0 (DTensor), optimizer state, lr_scheduler and
train_state scalars. Also writes the full expected state (nested, tensors whole) with torch.save for the checkers.

usage: make_dcp.py <out_dir> <expected.pt> [world_size]
"""
import os
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor


def full_state():
    g = torch.Generator().manual_seed(1234)
    return {
        "tok_embeddings.weight": torch.randn(10, 6, generator=g),
        "layers.0.attention.wq.weight": torch.randn(8, 6, generator=g),
        "layers.0.attention_norm.weight": torch.randn(6, generator=g).to(torch.bfloat16),
        "output.weight": torch.randn(7, 6, generator=g),
        "counts": torch.arange(12, dtype=torch.int64).reshape(3, 4),
        "optimizer.state.output.weight.exp_avg": torch.randn(7, 6, generator=g),
        "optimizer.state.output.weight.step": torch.tensor(3.0),
        "optimizer.param_groups.output.weight.lr": 0.0008,
        "optimizer.param_groups.output.weight.betas": (0.9, 0.95),
        "lr_scheduler": {"last_epoch": 3, "_last_lr": [0.1, 0.2]},
        "train_state": {"step": 3, "ntokens_seen": 1000},
    }


def run(rank, world, out_dir, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mesh = init_device_mesh("cpu", (world,))
    state = {}
    for k, v in full_state().items():
        state[k] = v if not isinstance(v, torch.Tensor) or v.dim() == 0 else distribute_tensor(v, mesh, [Shard(0)])
    dcp.save(state, checkpoint_id=out_dir)
    # Leave together, then skip teardown: gloo's worker threads can abort a process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after all work is done.
    dist.barrier()
    os._exit(0)


if __name__ == "__main__":
    out_dir, expected = sys.argv[1], sys.argv[2]
    world = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.save(full_state(), expected)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(run, args=(world, out_dir, port), nprocs=world, join=True)
