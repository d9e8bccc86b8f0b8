"""A JSON form of torch.save payloads that the TypeScript tests build too, so both sides compare equal."""
import collections
import struct

import torch


def tensor_hex(t):
    # Resolve lazy conj/neg bits and layout so the bytes are the dense row-major values.
    dense = t.detach().resolve_conj().resolve_neg().contiguous().reshape(-1)
    return dense.view(torch.uint8).numpy().tobytes().hex()


def describe(v):
    if isinstance(v, torch.Tensor):
        return {"tensor": {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape), "hex": tensor_hex(v)}}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": struct.pack("<d", v).hex()}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, (dict, collections.OrderedDict)):
        return {"dict": [[describe(k), describe(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return {"list": [describe(x) for x in v]}
    if isinstance(v, tuple):
        return {"tuple": [describe(x) for x in v]}
    raise TypeError(f"cannot describe {type(v)}")
