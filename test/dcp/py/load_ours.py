"""Loads a checkpoint webdcp wrote with torch's own dcp.load and compares it with a spec webdcp also wrote.
world 1: one process, plain tensors. world > 1: gloo processes on 127.0.0.1 loading DTensors sharded
differently from how webdcp saved (Shard(last dim) on a 1-d mesh), compared through full_tensor().
Prints "OK" on success; raises (non-zero exit) on any mismatch.

spec.json: {"tensors": {fqn: {dtype, shape, hex}}, "values": {fqn: json value}}
usage: load_ours.py <ckpt dir> <spec.json> <world>
"""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp


def tensor_from(spec) -> torch.Tensor:
    dtype = getattr(torch, spec["dtype"])
    raw = bytearray(bytes.fromhex(spec["hex"]))
    flat = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
    return flat.view(dtype).reshape(spec["shape"]).clone()


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def load_and_check(ckpt: str, spec, mesh=None) -> None:
    from torch.distributed.tensor import Shard, distribute_tensor
    expected = {k: tensor_from(v) for k, v in spec["tensors"].items()}
    sd = {}
    for k, v in expected.items():
        empty = torch.zeros_like(v)
        sd[k] = empty if mesh is None or v.dim() == 0 else distribute_tensor(empty, mesh, [Shard(v.dim() - 1)])
    for k in spec["values"]:
        sd[k] = None
    dcp.load(sd, checkpoint_id=ckpt)
    for k, v in expected.items():
        got = sd[k].full_tensor() if hasattr(sd[k], "full_tensor") else sd[k]
        if not same_bits(got, v):
            raise AssertionError(f"{k}: got {got} expected {v}")
    for k, v in spec["values"].items():
        got = sd[k]
        if isinstance(got, tuple):
            got = list(got)
        if got != v:
            raise AssertionError(f"{k}: got {got!r} expected {v!r}")


def worker(rank: int, world: int, port: int, ckpt: str, spec) -> None:
    from torch.distributed.device_mesh import init_device_mesh
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    load_and_check(ckpt, spec, init_device_mesh("cpu", (world,)))
    # Leave together, then skip teardown: gloo's worker threads can abort a process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after all work is done.
    dist.barrier()
    os._exit(0)


def main() -> None:
    ckpt, spec_path, world = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(spec_path) as f:
        spec = json.load(f)
    if world == 1:
        load_and_check(ckpt, spec)
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.spawn(worker, args=(world, port, ckpt, spec), nprocs=world, join=True)
    print("OK")


if __name__ == "__main__":
    main()
