"""Writes cast test data and torch's own `.to(dtype)` results, as safetensors.

src.safetensors: `f32` (float32) and `bf16` (bfloat16) vectors mixing random normals at many scales, NaN,
+-Inf, float32 denormals, values beyond each target's range and exact round-to-nearest-even ties for every
target. ref_<dtype>.safetensors: the same tensors after `.to(<dtype>)`.

usage: make_cast.py <out_dir>
"""
import sys

import torch
from safetensors.torch import save_file

TARGETS = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"]


def ties(dtype, g):
    """Midpoints between neighbouring representable values of `dtype`, exact in float32."""
    base = (torch.randn(512, generator=g) * 4).to(dtype)
    as_int = torch.uint8 if base.element_size() == 1 else torch.int16
    nxt = (base.view(as_int) + 1).view(dtype)
    mid = (base.float() + nxt.float()) / 2
    return mid[torch.isfinite(mid)]


def source(g):
    parts = [
        torch.randn(2048, generator=g),
        torch.randn(512, generator=g) * 1e-3,
        torch.randn(512, generator=g) * 1e4,
        torch.randn(256, generator=g) * 1e-40,  # float32 denormals
        torch.randn(256, generator=g) * 1e-7,  # float16 / fp8 subnormal range
        torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 65504.0, 65520.0, 448.0, 464.0, 57344.0,
                      61440.0, 1e38, -1e38, 3.4028235e38, 1.4e-45, -1.4e-45]),
    ]
    for dt in (torch.bfloat16, torch.float16, torch.float8_e4m3fn, torch.float8_e5m2):
        parts.append(ties(dt, g))
    return torch.cat(parts).to(torch.float32)


def main():
    out = sys.argv[1]
    g = torch.Generator().manual_seed(7)
    f32 = source(g)
    src = {"f32": f32, "bf16": f32.to(torch.bfloat16), "i64": torch.arange(-5, 5, dtype=torch.int64)}
    save_file(src, f"{out}/src.safetensors")
    for name in TARGETS:
        dt = getattr(torch, name)
        ref = {k: (v.to(dt) if v.is_floating_point() else v) for k, v in src.items()}
        save_file(ref, f"{out}/ref_{name}.safetensors")


if __name__ == "__main__":
    main()
