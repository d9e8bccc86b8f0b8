"""Checks that two safetensors files hold the same tensor names, dtypes, shapes and bytes, so the convert
benchmark compares two programs that produced the same result. Exit 0 and a JSON line when equal."""
import json
import sys

import torch
from safetensors import safe_open


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    with safe_open(a_path, "pt") as a, safe_open(b_path, "pt") as b:
        names = sorted(a.keys())
        if names != sorted(b.keys()):
            sys.exit(f"different tensor names: {sorted(set(names) ^ set(b.keys()))[:5]}")
        for name in names:
            x, y = a.get_tensor(name), b.get_tensor(name)
            if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x.contiguous().view(torch.uint8), y.contiguous().view(torch.uint8)):
                sys.exit(f"'{name}' differs: {x.dtype} {tuple(x.shape)} vs {y.dtype} {tuple(y.shape)}")
    print(json.dumps({"same": True, "tensors": len(names)}))


if __name__ == "__main__":
    main()
