"""Writes torch.save(obj, BytesIO) output for the byte-equality cases into OUTDIR."""
import io
import os
import sys

import torch

torch.manual_seed(1)


def every_dtype():
    out = {}
    for name in ["float64", "float32", "float16", "bfloat16", "complex64", "int64", "int32", "int16", "int8", "uint8"]:
        out[name] = (torch.randn(3, 2) * 50).to(getattr(torch, name))
    for name in ["float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"]:
        out[name] = (torch.rand(4) * 60).to(getattr(torch, name))
    out["bool"] = torch.tensor([True, False])
    out["scalar"] = torch.tensor(1.5)
    out["empty"] = torch.zeros(0, 4)
    return out


def shared():
    t = torch.ones(3)
    return {"first": t, "again": t, "other": torch.zeros(2, dtype=torch.float8_e4m3fn)}


CASES = {"dict": every_dtype, "bare": lambda: torch.arange(12, dtype=torch.int32).reshape(3, 4), "shared": shared}

for name, make in CASES.items():
    buf = io.BytesIO()
    torch.save(make(), buf)
    with open(os.path.join(sys.argv[1], name + ".pt"), "wb") as f:
        f.write(buf.getvalue())
