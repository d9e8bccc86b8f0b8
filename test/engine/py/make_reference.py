"""Writes torch's own `.to(dtype)` results for the engine's bit-exact tests.

For every 16-bit and 8-bit pattern of float16, bfloat16, float8_e4m3fn and float8_e5m2, and for a
fixed-seed set of float32 and float64 values (uniform random bit patterns, patterns concentrated on
the exponents where narrowing rounds, and hand-picked edges), it converts to every other engine dtype
and writes raw little-endian bytes:

    <out>/<src>.bin            the input elements
    <out>/<src>-<dst>.bin      torch's result of input.to(dst)

Usage: python make_reference.py <out_dir> [random_count]

torch's float64 -> bfloat16 gives NaN -> 0xFFFF in its vectorised loop but 0x7FC0 in the scalar loop that
finishes each thread's range, so a NaN's result depends on its position and the thread count. One thread
and lengths padded to a multiple of 64 keep every element on the vectorised path the engine reproduces.
"""
import os
import sys

import numpy as np
import torch

TARGETS = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"]
BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def as_tensor(raw: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(raw.view(np.uint8).copy()).view(dtype)


def float32_edges() -> list[int]:
    edges = [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
             0x7F800000, 0xFF800000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FC00000, 0xFFC00000, 0x7FFFFFFF,
             0xFFFFFFFF, 0x7FC12345, 0x7F812345, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F817FFF]
    # Ties and near-ties around every bfloat16/float16/float8 rounding position, at several exponents.
    for exp in list(range(90, 150)) + [254]:
        for low in (0x8000, 0x7FFF, 0x8001, 0x18000, 0x1000, 0x2000, 0x3000, 0xFFF, 0x1001,
                    0x80000, 0x100000, 0x180000, 0x7FFFF, 0x80001, 0x200000, 0x300000, 0x100001, 0xFFFFF):
            for mant_hi in (0, 0x10000, 0x7F0000, 0x400000):
                bits = (exp << 23) | ((mant_hi | low) & 0x7FFFFF)
                edges += [bits, bits | 0x80000000]
    return edges


def float32_inputs(count: int, rng: np.random.Generator) -> np.ndarray:
    uniform = rng.integers(0, 2**32, size=count, dtype=np.uint64).astype(np.uint32)
    near = rng.integers(0, 2**32, size=count, dtype=np.uint64).astype(np.uint32)
    # Exponents 100..150 cover float16/float8 denormals, normals and overflow.
    exps = rng.integers(100, 151, size=count).astype(np.uint32)
    near = (near & np.uint32(0x807FFFFF)) | (exps << np.uint32(23))
    return np.concatenate([np.array(float32_edges(), dtype=np.uint32), uniform, near])


def float64_inputs(count: int, rng: np.random.Generator) -> np.ndarray:
    edges = [0, 1 << 63, 1, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF0000000000001, 0xFFF8000123456789,
             0x7FF4000000000000, 0x7FEFFFFFFFFFFFFF, 0x47EFFFFFE0000000, 0x47EFFFFFF0000000, 0x36A0000000000000,
             0x3690000000000001, 0x3FF0100000000001, 0x3FF0080000000001, 0x3FF0000010000000]
    uniform = rng.integers(0, 2**64, size=count, dtype=np.uint64)
    near = rng.integers(0, 2**64, size=count, dtype=np.uint64)
    # float64 exponents 0x380..0x47F span float32's range and a little beyond on each side.
    exps = rng.integers(0x360, 0x490, size=count).astype(np.uint64)
    near = (near & np.uint64(0x800FFFFFFFFFFFFF)) | (exps << np.uint64(52))
    return np.concatenate([np.array(edges, dtype=np.uint64), uniform, near])


def pad64(raw: np.ndarray) -> np.ndarray:
    return np.concatenate([raw, np.zeros((-len(raw)) % 64, dtype=raw.dtype)])


def main() -> None:
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261125)
    inputs = {
        "float16": np.arange(1 << 16, dtype=np.uint16),
        "bfloat16": np.arange(1 << 16, dtype=np.uint16),
        "float8_e4m3fn": np.arange(1 << 8, dtype=np.uint8),
        "float8_e5m2": np.arange(1 << 8, dtype=np.uint8),
        "float32": pad64(float32_inputs(count, rng)),
        "float64": pad64(float64_inputs(count, rng)),
    }
    for src, raw in inputs.items():
        raw.tofile(os.path.join(out, f"{src}.bin"))
        tensor = as_tensor(raw, getattr(torch, src))
        for dst in TARGETS:
            if dst == src:
                continue
            result = tensor.to(getattr(torch, dst)).contiguous()
            result.view(torch.uint8).numpy().tofile(os.path.join(out, f"{src}-{dst}.bin"))


if __name__ == "__main__":
    main()
