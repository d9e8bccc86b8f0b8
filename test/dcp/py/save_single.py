"""Single-process torch dcp.save of a nested state with every dtype we support, BYTE_IO values, an
optimizer-like subtree with param_groups lists and a chunk saved transposed (non-contiguous).
Writes <out>/ckpt (the checkpoint) and <out>/expected.json (fqn -> dtype, shape, hex of row-major bytes).

usage: save_single.py <out>
"""
import json
import os
import sys

import torch
import torch.distributed.checkpoint as dcp

DTYPES = [
    "float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "float8_e8m0fnu", "complex128", "complex64", "complex32", "int64", "int32", "int16",
    "int8", "uint64", "uint32", "uint16", "uint8", "bool",
]


def tensor_of(dtype: str, shape, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = 1
    for s in shape:
        n *= s
    raw = torch.randint(0, 256, (n * torch.empty((), dtype=getattr(torch, dtype)).element_size(),),
                        dtype=torch.uint8, generator=g)
    if dtype == "bool":
        raw = raw % 2
    return raw.view(getattr(torch, dtype)).reshape(shape)


def hexbytes(t: torch.Tensor) -> str:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def main() -> None:
    out = sys.argv[1]
    tensors = {f"dtypes.{d}": tensor_of(d, (3, 2), i) for i, d in enumerate(DTYPES)}
    transposed = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # owns its storage, stride (1, 4)
    sd = {
        "dtypes": {k.split(".", 1)[1]: v for k, v in tensors.items()},
        "model": {"w_t": transposed, "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3)},
        "optimizer": {
            "state": {"model.w_t": {"exp_avg": torch.ones(4, 3) * 0.5, "step": torch.tensor(7.0)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.95), "amsgrad": False, "params": ["model.w_t"]}],
        },
        "train_state": {"step": 42, "ntokens_seen": 2**40, "name": "run-ü", "blob": b"\x80\x04abc", "none": None},
        "lr_scheduler": {"base_lrs": [0.1, 0.2], "lr_lambdas": [{}], "last_epoch": -3},
        "tup": (torch.arange(3, dtype=torch.int16), 1),
    }
    dcp.save(sd, checkpoint_id=os.path.join(out, "ckpt"))
    expected = {f"dtypes.{d}": {"dtype": d, "shape": [3, 2], "hex": hexbytes(t)} for d, t in zip(DTYPES, tensors.values())}
    for fqn, t in [("model.w_t", transposed), ("model.scalar", sd["model"]["scalar"]), ("model.empty", sd["model"]["empty"]),
                   ("optimizer.state.model.w_t.exp_avg", sd["optimizer"]["state"]["model.w_t"]["exp_avg"]),
                   ("optimizer.state.model.w_t.step", sd["optimizer"]["state"]["model.w_t"]["step"])]:
        expected[fqn] = {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "hex": hexbytes(t)}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
