"""Writes a deterministic llama-like float32 state dict as a 4-rank DCP checkpoint with real torch.

Four gloo processes on 127.0.0.1 each hold their Shard(0) slice of every tensor as a DTensor and call
`dcp.save` together, exactly as a 4-rank FSDP-style job would. Each process generates only its own slice,
so memory and generation time are split four ways (on 2 cores this is about as fast as one process
writing four ranks' plans, and it is the real code path).

usage: make_checkpoint.py OUT_DIR SIZE_MIB
Prints one JSON line: {"dir", "bytes", "tensors", "layers", "seconds"}.
"""
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor, Shard

WORLD = 4
DIM = 2048
FFN = 5632
VOCAB = 32000


def layer_shapes(i):
    p = f"layers.{i}."
    return [
        (p + "attention.wq.weight", (DIM, DIM)),
        (p + "attention.wk.weight", (DIM, DIM)),
        (p + "attention.wv.weight", (DIM, DIM)),
        (p + "attention.wo.weight", (DIM, DIM)),
        (p + "feed_forward.w1.weight", (FFN, DIM)),
        (p + "feed_forward.w2.weight", (DIM, FFN)),
        (p + "feed_forward.w3.weight", (FFN, DIM)),
        (p + "attention_norm.weight", (DIM,)),
        (p + "ffn_norm.weight", (DIM,)),
    ]


def shapes_for(size_bytes):
    """Embedding, norm and output, plus as many layers as bring the total nearest to `size_bytes`."""
    ends = [("tok_embeddings.weight", (VOCAB, DIM)), ("norm.weight", (DIM,)), ("output.weight", (VOCAB, DIM))]
    nbytes = lambda shapes: sum(4 * torch.Size(s).numel() for _, s in shapes)
    per_layer = nbytes(layer_shapes(0))
    layers = max(1, round((size_bytes - nbytes(ends)) / per_layer))
    return ends[:1] + [x for i in range(layers) for x in layer_shapes(i)] + ends[1:], layers


def local_slice(index, shape, rank):
    """Rank `rank`'s Shard(0) rows, generated from a seed of (tensor, rank) so reruns give the same bytes."""
    rows = shape[0] // WORLD
    g = torch.Generator().manual_seed(1000 * index + rank)
    return torch.randn((rows, *shape[1:]), generator=g, dtype=torch.float32) * 0.02


def worker(rank, out_dir, shapes, port):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    torch.set_num_threads(1)
    mesh = init_device_mesh("cpu", (WORLD,))
    state = {}
    for i, (name, shape) in enumerate(shapes):
        local = local_slice(i, shape, rank)
        state[name] = DTensor.from_local(local, mesh, [Shard(0)], run_check=False, shape=torch.Size(shape),
                                         stride=torch.empty(shape, device="meta").stride())
    dcp.save(state, checkpoint_id=out_dir)
    # Leave together, then skip teardown: gloo's worker threads can abort a process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after all work is done.
    dist.barrier()
    os._exit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out_dir, size_mib = sys.argv[1], int(sys.argv[2])
    shapes, layers = shapes_for(size_mib << 20)
    for _, s in shapes:
        assert s[0] % WORLD == 0, s
    start = time.perf_counter()
    tmp = out_dir + ".partial"
    os.makedirs(tmp, exist_ok=True)
    mp.start_processes(worker, args=(tmp, shapes, free_port()), nprocs=WORLD, start_method="fork")
    os.replace(tmp, out_dir)
    total = sum(4 * torch.Size(s).numel() for _, s in shapes)
    print(json.dumps({"dir": out_dir, "bytes": total, "tensors": len(shapes), "layers": layers,
                      "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
