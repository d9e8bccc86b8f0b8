"""Multi-process torch dcp.save (gloo on 127.0.0.1) of DTensors sharded unevenly, as TorchTitan does.
mesh "1d": `world` ranks, Shard(0); mesh "2d": a 2 x (world/2) mesh with (Shard(0), Shard(1)).
Writes <out>/ckpt and <out>/expected.json (fqn -> dtype, shape, hex of the full tensor's bytes).

usage: save_sharded.py <out> <world> <1d|2d>
"""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Replicate, Shard, distribute_tensor


def full_state():
    g = torch.Generator().manual_seed(7)
    return {
        "w": torch.randn(5, 7, generator=g),
        "emb": torch.randn(3, 4, generator=g).to(torch.bfloat16),
        "counts": torch.arange(10, dtype=torch.int64),
        "optimizer.step": torch.tensor(3.0),
    }


def hexbytes(t: torch.Tensor) -> str:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def worker(rank: int, world: int, mesh_kind: str, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    if mesh_kind == "1d":
        mesh = init_device_mesh("cpu", (world,))
        placements_2d = [Shard(0)]
        placements_1d = [Shard(0)]
    else:
        mesh = init_device_mesh("cpu", (2, world // 2))
        placements_2d = [Shard(0), Shard(1)]
        placements_1d = [Shard(0), Replicate()]
    sd = {}
    for k, v in full_state().items():
        if v.dim() == 0:
            sd[k] = v
        else:
            sd[k] = distribute_tensor(v, mesh, placements_2d if v.dim() == 2 else placements_1d)
    sd["train_state"] = {"step": 11, "lrs": [0.5, 0.25]}
    dcp.save(sd, checkpoint_id=os.path.join(out, "ckpt"))
    # Leave together, then skip teardown: gloo's worker threads can abort a process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after all work is done.
    dist.barrier()
    os._exit(0)


def main() -> None:
    out, world, mesh_kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(world, mesh_kind, port, out), nprocs=world, join=True)
    expected = {k: {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape), "hex": hexbytes(v)}
                for k, v in full_state().items()}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
