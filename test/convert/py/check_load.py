"""Loads a webdcp output with real torch and compares it with the expected state written by make_dcp.py.

usage:
  check_load.py batch '<json list of argument lists>'   (one line of JSON results, in order)
  check_load.py safetensors <file-or-folder> <expected.pt> [--model-only]
  check_load.py torch <file.pt> <expected.pt> [--model-only]
  check_load.py dcp <dir> <expected.pt> [--model-only] [--tensors-only]
  check_load.py dtensor <dir> <expected.pt> <world> <shard_dim>
Prints one JSON line {"ok": bool, "errors": [...], "keys": [...]}; exits 0 either way unless it crashes.
"""
import glob
import json
import os
import shutil
import socket
import sys

import torch

TRAINING = ("optimizer", "lr_scheduler", "dataloader", "train_state")


def expected_state(path, model_only):
    exp = torch.load(path, weights_only=False)
    if model_only:
        exp = {k: v for k, v in exp.items() if not k.split(".")[0] in TRAINING}
    return exp


def same(a, b):
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
            and a.shape == b.shape and torch.equal(a.view(torch.uint8) if a.dim() else a, b.view(torch.uint8) if b.dim() else b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def only_tensors(d):
    return {k: v for k, v in d.items() if isinstance(v, torch.Tensor)}


def compare(got, exp):
    errors = [f"missing {k}" for k in exp if k not in got] + [f"unexpected {k}" for k in got if k not in exp]
    errors += [f"differs {k}" for k in exp if k in got and not same(got[k], exp[k])]
    return errors


def load_safetensors(path):
    from safetensors.torch import load_file

    files = sorted(glob.glob(os.path.join(path, "*.safetensors"))) if os.path.isdir(path) else [path]
    out = {}
    for f in files:
        out.update(load_file(f))
    return out


def load_dcp(path, exp):
    import torch.distributed.checkpoint as dcp

    sd = {k: (torch.empty_like(v) if isinstance(v, torch.Tensor) else None) for k, v in exp.items()}
    # Non-tensor leaves are replaced on load; nested dicts need the same structure to be requested.
    for k, v in exp.items():
        if isinstance(v, dict):
            sd[k] = {kk: None for kk in v}
    dcp.load(sd, checkpoint_id=path, no_dist=True)
    return sd


def dtensor_worker(rank, world, path, exp_path, dim, port, out_path):
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mesh = init_device_mesh("cpu", (world,))
    exp = only_tensors(torch.load(exp_path, weights_only=False))
    sd = {}
    for k, v in exp.items():
        placement = Shard(dim) if v.dim() > dim else Replicate()
        sd[k] = distribute_tensor(torch.zeros_like(v), mesh, [placement])
    dcp.load(sd, checkpoint_id=path)
    errors = []
    for k, v in exp.items():
        full = sd[k].full_tensor()
        if not same(full, v):
            errors.append(f"rank {rank}: differs {k}")
        placement = Shard(dim) if v.dim() > dim else Replicate()
        if not same(sd[k].to_local(), distribute_tensor(v, mesh, [placement]).to_local()):
            errors.append(f"rank {rank}: local shard of {k} differs")
    with open(f"{out_path}.{rank}", "w") as f:
        json.dump(errors, f)
    # Leave together, then skip teardown: gloo's worker threads can abort the process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after the results are already written.
    dist.barrier()
    os._exit(0)


def check(mode, path, exp_path, *flags):
    if mode == "dtensor":
        return check_dtensor(path, exp_path, int(flags[0]), int(flags[1]))
    exp = expected_state(exp_path, "--model-only" in flags)
    if "--tensors-only" in flags:
        exp = only_tensors(exp)
    if mode == "safetensors":
        got, exp = load_safetensors(path), only_tensors(exp)
    elif mode == "torch":
        got = torch.load(path, weights_only=True)
    elif mode == "dcp":
        got = load_dcp(path, exp)
    else:
        raise SystemExit(f"unknown mode {mode}")
    errors = compare(got, exp)
    return {"ok": not errors, "errors": errors, "keys": sorted(got.keys())}


def check_dtensor(path, exp_path, world, dim):
    import tempfile

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "errors")
    mp.spawn(dtensor_worker, args=(world, path, exp_path, dim, port, out), nprocs=world, join=True)
    errors = []
    for r in range(world):
        with open(f"{out}.{r}") as f:
            errors += json.load(f)
    shutil.rmtree(tmp)
    return {"ok": not errors, "errors": errors, "keys": []}


def main():
    if sys.argv[1] == "batch":
        print(json.dumps([check(*args) for args in json.loads(sys.argv[2])]))
    else:
        print(json.dumps(check(*sys.argv[1:])))


if __name__ == "__main__":
    main()
