"""Python peer for the safetensors interop tests: writes reference files with the real library and
checks files written by webdcp with the real loaders. Prints one JSON line per command."""
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

DTYPES = [
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
    torch.int8, torch.uint8, torch.bool, torch.float8_e4m3fn, torch.float8_e4m3fnuz, torch.float8_e5m2,
    torch.float8_e5m2fnuz, torch.float8_e8m0fnu, torch.complex64, torch.uint64, torch.uint32, torch.uint16,
]


def name_of(dtype):
    return str(dtype).removeprefix("torch.")


def raw(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def describe(tensors, metadata):
    return {
        "metadata": metadata,
        "tensors": {k: {"dtype": name_of(v.dtype), "shape": list(v.shape), "hex": raw(v)} for k, v in tensors.items()},
    }


def random_tensor(gen, dtype, shape):
    numel = 1
    for d in shape:
        numel *= d
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=gen).to(torch.bool)
    size = torch.empty((), dtype=dtype).element_size()
    return torch.randint(0, 256, (numel * size,), dtype=torch.uint8, generator=gen).view(dtype).reshape(shape)


def reference(out_dir):
    gen = torch.Generator().manual_seed(1234)
    files = {}
    everything = {}
    for i, dtype in enumerate(DTYPES):
        everything[f"layers.{i}.{name_of(dtype)}"] = random_tensor(gen, dtype, (3, 5))
        everything[f"scalar.{name_of(dtype)}"] = random_tensor(gen, dtype, ())
    everything["empty.f32"] = torch.empty((0, 4), dtype=torch.float32)
    everything["ünïcode.wéight"] = random_tensor(gen, torch.float16, (2,))
    files["all_dtypes.safetensors"] = (everything, {"format": "pt"})
    files["no_metadata.safetensors"] = ({"a": random_tensor(gen, torch.bfloat16, (4, 2))}, None)
    files["empty.safetensors"] = ({}, None)
    manifest = {}
    for fname, (tensors, metadata) in files.items():
        save_file(tensors, os.path.join(out_dir, fname), metadata=metadata)
        manifest[fname] = describe(tensors, metadata)
    print(json.dumps(manifest))


def compare(loaded, expected):
    problems = []
    if set(loaded) != set(expected):
        problems.append(f"names differ: {sorted(loaded)} vs {sorted(expected)}")
    for k, want in expected.items():
        got = loaded.get(k)
        if got is None:
            continue
        if name_of(got.dtype) != want["dtype"] or list(got.shape) != want["shape"] or raw(got) != want["hex"]:
            problems.append(f"{k}: got {name_of(got.dtype)}{list(got.shape)}")
    return problems


def check_files(in_dir, manifest_path):
    manifest = json.load(open(manifest_path))
    problems = []
    for fname, want in manifest.items():
        path = os.path.join(in_dir, fname)
        problems += [f"{fname}: {p}" for p in compare(load_file(path), want["tensors"])]
        with safe_open(path, "pt") as f:
            if f.metadata() != want["metadata"]:
                problems.append(f"{fname}: metadata {f.metadata()}")
    print(json.dumps({"problems": problems}))


def check_folder(in_dir, manifest_path):
    """Loads a sharded folder the way transformers does: the index's weight_map, then safe_open per file."""
    expected = json.load(open(manifest_path))
    index = json.load(open(os.path.join(in_dir, "model.safetensors.index.json")))
    loaded = {}
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(os.path.join(in_dir, shard), "pt") as f:
            for k in f.keys():
                loaded[k] = f.get_tensor(k)
    problems = compare(loaded, expected)
    total = sum(t.numel() * t.element_size() for t in loaded.values())
    if index["metadata"]["total_size"] != total:
        problems.append(f"total_size {index['metadata']['total_size']} != {total}")
    print(json.dumps({"problems": problems, "shards": len(set(index["weight_map"].values()))}))


if __name__ == "__main__":
    {"reference": reference, "check_files": check_files, "check_folder": check_folder}[sys.argv[1]](*sys.argv[2:])
