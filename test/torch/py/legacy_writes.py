"""Writes legacy torch.save files (_use_new_zipfile_serialization=False) with real torch into argv[1].

Prints JSON: for each file, what torch.load(weights_only=True) gives (describe()), and which dtypes torch
refused to save in the legacy format. Also writes hostile files only real Python makes (a global outside
any allow-list, a whole pickled module).
"""
import collections
import functools
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(__file__))
from describe import describe  # noqa: E402

DTYPES = [
    "float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "float8_e8m0fnu", "complex128", "complex64", "complex32", "int64", "int32", "int16",
    "int8", "uint64", "uint32", "uint16", "uint8", "bool",
]


def pattern(dtype, shape, seed):
    """Deterministic bytes of every bit pattern class (NaNs, infinities, negative zeros) reinterpreted."""
    dt = getattr(torch, dtype)
    n = 1
    for s in shape:
        n *= s
    size = torch.empty((), dtype=dt).element_size()
    raw = torch.tensor([(i * 37 + seed * 11) & 0xFF for i in range(n * size)], dtype=torch.uint8)
    if dtype == "bool":
        raw = raw & 1
    return raw.view(dt).reshape(shape)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.norm = torch.nn.BatchNorm1d(2)


def save(out, name, value, **kw):
    torch.save(value, os.path.join(out, name), _use_new_zipfile_serialization=False, **kw)


def main():
    warnings.filterwarnings("ignore")
    out = sys.argv[1]
    refused = {}
    dtypes = {}
    untyped = {}
    probe = os.path.join(out, "probe.pt")
    for i, d in enumerate(DTYPES):
        t = pattern(d, [2, 3], i)
        try:
            torch.save({"t": t}, probe, _use_new_zipfile_serialization=False)
        except Exception as e:  # noqa: BLE001 - which dtypes the legacy writer refuses is the point
            refused[d] = f"save: {type(e).__name__}: {e}"
            continue
        try:
            torch.load(probe, weights_only=True)
            dtypes[d] = t
        except Exception as e:  # noqa: BLE001
            # Written with an UntypedStorage, which torch's own legacy loader cannot read back.
            refused[d] = f"load: {type(e).__name__}: {e}"
            untyped[d] = t
    os.remove(probe)
    save(out, "dtypes.pt", dtypes)
    save(out, "untyped.pt", untyped)

    base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    save(out, "views.pt", {
        "base": base,
        "block": base[1:4, 2:7],  # storage offset and a row stride wider than the view
        "t": base.t(),  # transposed strides
        "every_other": base[:, ::2],
        "row": base[5],
        "expanded": torch.tensor([1.5, -2.5], dtype=torch.float64).reshape(2, 1).expand(2, 5),
        "scalar": base[2, 3],
        "empty": base[:0],
        "int_view": torch.arange(20, dtype=torch.int16)[3:17:3],
    })

    shared = pattern("bfloat16", [4, 4], 7)
    save(out, "shared.pt", {"a": shared, "b": shared, "c": shared[1:3], "again": [shared, (shared,)]})

    save(out, "nested.pt", {
        "model": collections.OrderedDict([("w", pattern("float32", [3], 1)), ("b", pattern("int64", [1], 2))]),
        "optim": {"state": {0: {"step": torch.tensor(12.0), "exp_avg": pattern("float16", [3], 3)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0], "amsgrad": False}]},
        "list": [1, 2.5, "text", b"\x00\xff", None, True, (3, pattern("int8", [2], 4))],
        "big": 2 ** 70,
        "neg": -3,
        "float": 2.0,
        7: "int key",
        "param": torch.nn.Parameter(pattern("float32", [2, 2], 5)),
    })

    # The same nesting with str keys only: flattening names dict keys by str(), so int keys come back as str
    # from any conversion (as from DCP itself).
    save(out, "nested_str.pt", {
        "model": collections.OrderedDict([("w", pattern("float32", [3], 1)), ("b", pattern("int64", [1], 2))]),
        "optim": {"state": {"w": {"step": torch.tensor(12.0), "exp_avg": pattern("float16", [3], 3)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": ["w"], "amsgrad": False}]},
        "list": [1, 2.5, "text", b"\x00\xff", None, True, (3, pattern("int8", [2], 4))],
        "deep": [{"a": [pattern("uint8", [2], 6), {"b": pattern("float64", [1], 7)}]}],
        "param": torch.nn.Parameter(pattern("float32", [2, 2], 5)),
    })
    save(out, "module_state.pt", Net().state_dict())
    save(out, "protocol4.pt", {"w": pattern("float32", [5], 9), "n": 3}, pickle_protocol=4)
    # An object pickle longer than the first window read (64 KiB), so the reader must widen it.
    save(out, "big_pickle.pt", {"w": pattern("int32", [4], 2), "note": "x" * 300_000, "v": pattern("uint8", [3], 1)})

    result = {"refused": refused, "files": {}, "untyped": describe(untyped)}
    for name in sorted(os.listdir(out)):
        if name != "untyped.pt":
            # torch's weights-only unpickler has no FRAME opcode, so only the full one reads protocol 4.
            safe = name != "protocol4.pt"
            result["files"][name] = describe(torch.load(os.path.join(out, name), weights_only=safe))

    # Hostile files real Python writes: globals outside the allow-list, a whole module.
    save(out, "hostile_global.pt", {"f": functools.partial(print, "x")})
    save(out, "hostile_module.pt", Net())
    json.dump(result, sys.stdout)


main()
