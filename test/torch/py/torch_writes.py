"""Writes one torch.save file per case into OUTDIR and prints {case: description} as JSON."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from describe import describe  # noqa: E402

torch.manual_seed(0)


def every_dtype():
    out = {}
    for name in ["float64", "float32", "float16", "bfloat16", "complex64", "complex128"]:
        out[name] = torch.randn(2, 3, dtype=getattr(torch, name))
    for name in ["float8_e4m3fn", "float8_e5m2"]:
        out[name] = torch.randn(5).to(getattr(torch, name))
    for name, lo, hi in [("int64", -2**40, 2**40), ("int32", -2**31, 2**31 - 1), ("int16", -2**15, 2**15 - 1),
                         ("int8", -128, 127), ("uint8", 0, 255)]:
        out[name] = torch.randint(lo, hi, (3, 2), dtype=getattr(torch, name))
    for name, bits in [("uint16", 16), ("uint32", 32), ("uint64", 63)]:
        out[name] = torch.randint(0, 2**bits - 1, (4,), dtype=torch.int64).to(getattr(torch, name))
    out["bool"] = torch.tensor([True, False, True])
    return out


def views():
    base = torch.arange(24, dtype=torch.float32)
    z = torch.complex(torch.arange(4.0), torch.arange(4.0) + 10)
    return {
        "base": base,
        "slice": base[2:8].view(2, 3),
        "t": base.view(4, 6).t(),
        "strided": base.view(4, 6)[:, 1::2],
        "permuted": base.view(2, 3, 4).permute(2, 0, 1),
        "column": base.view(4, 6)[:, 5],
        "conj": z.conj(),
        "neg": torch._neg_view(base[:5]),
        "t_int8": torch.arange(12, dtype=torch.int8).view(3, 4).t(),
        "t_bf16": torch.randn(3, 4).to(torch.bfloat16).t(),
        "t_complex": torch.randn(2, 3, dtype=torch.complex128).t(),
        "t_conj": torch.randn(2, 3, dtype=torch.complex64).t().conj(),
    }


def model_state():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    return model.state_dict()


CASES = {
    "dtypes": every_dtype,
    "zero_d_and_empty": lambda: {"scalar": torch.tensor(3.5), "int": torch.tensor(7), "empty": torch.zeros(0),
                                 "empty3": torch.zeros(2, 0, 3, dtype=torch.bfloat16)},
    "views": views,
    "shared": lambda: (lambda t: {"a": t, "b": t, "c": t[1:]})(torch.arange(6, dtype=torch.int16)),
    "nested": lambda: {"list": [1, 2.5, "text", b"\x00\xff", None, True, (3, torch.ones(2))],
                       "deep": {"x": {"y": torch.zeros(1)}}, "big": 2**70, "neg": -3, "float": 2.0,
                       "empty_bytes": b"", 7: "int key"},
    "state_dict": model_state,
    "parameters": lambda: {"p": torch.nn.Parameter(torch.randn(2, 2)),
                           "q": torch.nn.Parameter(torch.ones(3), requires_grad=False)},
    "bare": lambda: torch.arange(6.0).reshape(2, 3),
}


def main():
    out_dir = sys.argv[1]
    result = {}
    for name, make in CASES.items():
        value = make()
        torch.save(value, os.path.join(out_dir, name + ".pt"))
        result[name] = describe(value)
    json.dump(result, sys.stdout)


main()
