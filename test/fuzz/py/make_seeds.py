"""Writes the seed files of the fuzz suite with real torch / safetensors, plus a map of where their
integer fields and raw tensor bytes lie (found with Python's own `pickletools` and `struct`, not with
webdcp), so the TypeScript mutators can aim at lengths and offsets.

usage: make_seeds.py <out-dir>
The suite's committed copy lives in test/fuzz/seeds (under 50 KB); to refresh it:
  rm -rf test/fuzz/seeds && $(bash test/interop/venv.sh)/bin/python test/fuzz/py/make_seeds.py test/fuzz/seeds

<out-dir>/
  tensor.pkl                       data.pkl (protocol 2) of torch.save(one float32 tensor)
  tensors.pt                       torch.save of a dict: views sharing a storage, bf16, float8, int64, 0-d
  model.safetensors                safetensors.torch.save_file, with __metadata__
  folder/                          two shards + model.safetensors.index.json
  dcp/                             2-rank gloo dcp.save: DTensor Shard(0), replicated tensor, BYTE_IO values
  dcp_local/                       2-rank dcp.save(use_collectives=False): rank-local __<r>.metadata files
  map.json                         {file: {"le": {width: [at...]}, "dec": [[at, digits]], "tensors": [[at, length,
                                   name]], "padding": [[at, length]], "pickles": [[at, length]]}}: little-endian
                                   integer fields by width, decimal numbers in JSON text, raw tensor bytes, torch's
                                   never-read 'FB' padding, pickle streams
  expected.json                    {file: {name: {"dtype", "shape", "hex"}}} from torch itself
"""
import io
import json
import os
import pickletools
import socket
import struct
import sys
import zipfile

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from safetensors.torch import save_file
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor

# Pickle opcodes whose argument is a little-endian integer (a value, a length or a memo index): width.
# BINPUT is left out: renumbering a memo slot only matters through the BINGETs, which are listed.
PICKLE_INT_ARGS = {
    "BININT": 4, "BININT1": 1, "BININT2": 2, "LONG1": 1, "LONG4": 4, "BINGET": 1, "LONG_BINGET": 4,
    "BINUNICODE": 4, "SHORT_BINUNICODE": 1, "BINUNICODE8": 8,
    "BINBYTES": 4, "SHORT_BINBYTES": 1, "BINBYTES8": 8, "SHORT_BINSTRING": 1, "BINSTRING": 4, "FRAME": 8,
}


def pickle_fields(data: bytes, base: int) -> list:
    return [[base + pos + 1, PICKLE_INT_ARGS[op.name], "le"]
            for op, _arg, pos in pickletools.genops(data) if op.name in PICKLE_INT_ARGS]


def zip_layout(buf: bytes, base: int) -> dict:
    """Integer fields of every zip structure, raw bytes of each record, and the 'FB' padding contents."""
    fields, records, padding = [], {}, []
    with zipfile.ZipFile(io.BytesIO(buf)) as z:
        infos = z.infolist()
    for info in infos:
        h = info.header_offset
        _sig, _ver, _flags, _method, _t, _d, _crc, _cs, _us, nlen, elen = struct.unpack_from("<IHHHHHIIIHH", buf, h)
        # flags, method, crc, sizes, name and extra lengths of the local header
        fields += [[base + h + o, w, "le"] for o, w in ((6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2))]
        extra = h + 30 + nlen
        pos = extra
        while pos + 4 <= extra + elen:
            eid, esize = struct.unpack_from("<HH", buf, pos)
            fields.append([base + pos + 2, 2, "le"])
            if eid == 0x4246 and esize > 0:  # "FB": torch's alignment padding, content never read
                padding.append([base + pos + 4, esize])
            pos += 4 + esize
        data_at = extra + elen
        records[info.filename] = [base + data_at, info.file_size]
    cd_end = buf.rfind(b"PK\x05\x06")
    _sig, _d1, _d2, _n1, _n2, cd_size, cd_off, _clen = struct.unpack_from("<IHHHHIIH", buf, cd_end)
    fields += [[base + cd_end + o, w, "le"] for o, w in ((8, 2), (10, 2), (12, 4), (16, 4), (20, 2))]
    pos = cd_off
    z64 = buf.rfind(b"PK\x06\x06")
    if z64 >= 0:
        # entries on disk, total entries, cd size, cd offset; and the locator's pointer to this record
        fields += [[base + z64 + o, 8, "le"] for o in (24, 32, 40, 48)]
        loc = buf.rfind(b"PK\x06\x07")
        fields.append([base + loc + 8, 8, "le"])
        pos = struct.unpack_from("<Q", buf, z64 + 48)[0]
    while buf[pos:pos + 4] == b"PK\x01\x02":
        nlen, elen, clen = struct.unpack_from("<HHH", buf, pos + 28)
        # crc, sizes, name/extra/comment lengths, disk number, local header offset
        fields += [[base + pos + o, w, "le"] for o, w in ((16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2), (42, 4))]
        pos += 46 + nlen + elen + clen
    return {"fields": fields, "records": records, "padding": padding}


def tensor_hex(t: torch.Tensor) -> str:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def describe(tensors: dict) -> dict:
    return {k: {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape), "hex": tensor_hex(v)}
            for k, v in tensors.items()}


def torch_archive_map(buf: bytes, base: int, storage_owner: dict) -> dict:
    """Map of one torch.save archive at `base`: zip fields, data.pkl fields, raw storage bytes."""
    zl = zip_layout(buf, base)
    pkl_name = next(n for n in zl["records"] if n.endswith("/data.pkl"))
    pkl_at, pkl_len = zl["records"][pkl_name]
    pkl = buf[pkl_at - base:pkl_at - base + pkl_len]
    tensors = [[at, size, storage_owner.get(name.rsplit("/", 1)[1], name)]
               for name, (at, size) in zl["records"].items() if "/data/" in name and size > 0]
    return {"fields": zl["fields"] + pickle_fields(pkl, pkl_at), "tensors": tensors,
            "padding": zl["padding"], "pickles": [[pkl_at, pkl_len]]}


def merge(*maps: dict) -> dict:
    out = {"fields": [], "tensors": [], "padding": [], "pickles": []}
    for m in maps:
        for k in out:
            out[k] += m.get(k, [])
    return out


def save_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def make_pickle(out: str, files: dict) -> None:
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    with zipfile.ZipFile(io.BytesIO(save_bytes(t))) as z:
        pkl = z.read("archive/data.pkl")
    with open(os.path.join(out, "tensor.pkl"), "wb") as f:
        f.write(pkl)
    files["tensor.pkl"] = {"fields": pickle_fields(pkl, 0), "tensors": [], "padding": [], "pickles": [[0, len(pkl)]]}


def torch_state() -> dict:
    g = torch.Generator().manual_seed(3)
    base = torch.randn(12, generator=g)
    return {
        "base": base,
        "slice": base[2:8].view(2, 3),  # storage offset 2 on the same storage
        "transposed": base.view(3, 4).t(),  # stride (1, 4)
        "bf16": torch.randn(2, 5, generator=g).to(torch.bfloat16),
        "f8": torch.randn(4, 3, generator=g).to(torch.float8_e4m3fn),  # _rebuild_tensor_v3
        "ids": torch.arange(5, dtype=torch.int64),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
    }


def make_torch(out: str, files: dict, expected: dict) -> None:
    state = torch_state()
    buf = save_bytes(state)
    with open(os.path.join(out, "tensors.pt"), "wb") as f:
        f.write(buf)
    # storage keys are given in order of first appearance while pickling
    owners = {"0": "base", "1": "bf16", "2": "f8", "3": "ids", "4": "scalar"}
    files["tensors.pt"] = torch_archive_map(buf, 0, owners)
    expected["tensors.pt"] = describe(state)


def make_safetensors(out: str, files: dict, expected: dict) -> None:
    g = torch.Generator().manual_seed(5)
    tensors = {
        "embed.weight": torch.randn(4, 3, generator=g),
        "norm.weight": torch.randn(3, generator=g).to(torch.bfloat16),
        "scale": torch.tensor(0.5, dtype=torch.float16),
        "f8": torch.randn(2, 2, generator=g).to(torch.float8_e5m2),
        "steps": torch.arange(3, dtype=torch.int32),
        "empty": torch.zeros(0, 2),
    }
    path = os.path.join(out, "model.safetensors")
    save_file(tensors, path, metadata={"format": "pt"})
    files["model.safetensors"] = safetensors_map(path)
    expected["model.safetensors"] = describe(tensors)

    folder = os.path.join(out, "folder")
    os.makedirs(folder, exist_ok=True)
    shards = [{"a.weight": tensors["embed.weight"], "a.bias": tensors["norm.weight"]},
              {"b.weight": torch.randn(2, 3, generator=g), "b.steps": tensors["steps"]}]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, os.path.join(folder, name), metadata={"format": "pt"})
        files[f"folder/{name}"] = safetensors_map(os.path.join(folder, name))
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    # the index as transformers' save_pretrained writes it
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    files["folder/model.safetensors.index.json"] = {"fields": [], "tensors": [], "padding": []}
    expected["folder"] = describe({k: v for s in shards for k, v in s.items()})


def safetensors_map(path: str) -> dict:
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack_from("<Q", buf, 0)
    header = json.loads(buf[8:8 + n])
    fields = [[0, 8, "le"]]
    # every decimal number in the header text (offsets and shape dims) as a splice target
    text = buf[8:8 + n]
    i = 0
    while i < len(text):
        if chr(text[i]).isdigit() and not chr(text[i - 1]).isalnum():
            j = i
            while j < len(text) and chr(text[j]).isdigit():
                j += 1
            fields.append([8 + i, j - i, "dec"])
            i = j
        else:
            i += 1
    tensors = [[8 + n + v["data_offsets"][0], v["data_offsets"][1] - v["data_offsets"][0], k]
               for k, v in header.items() if k != "__metadata__" and v["data_offsets"][1] > v["data_offsets"][0]]
    return {"fields": fields, "tensors": tensors, "padding": []}


def dcp_state() -> dict:
    g = torch.Generator().manual_seed(11)
    return {
        "layer.w": torch.randn(5, 4, generator=g),
        "layer.b": torch.randn(6, generator=g).to(torch.bfloat16),
        "counts": torch.arange(4, dtype=torch.int64),
    }


def dcp_worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    mesh = init_device_mesh("cpu", (2,))
    full = dcp_state()
    sd = {
        "layer.w": distribute_tensor(full["layer.w"], mesh, [Shard(0)]),
        "layer.b": distribute_tensor(full["layer.b"], mesh, [Shard(0)]),
        "counts": full["counts"],  # replicated plain tensor: deduplicated onto one rank
        "train_state": {"step": 7, "betas": (0.9, 0.95)},
    }
    dcp.save(sd, checkpoint_id=os.path.join(out, "dcp"))
    # rank-local __<r>.metadata files instead of one .metadata (experimental, no collectives): a small state
    local = {"w": distribute_tensor(full["layer.w"][:4], mesh, [Shard(0)])}
    dcp.save(local, checkpoint_id=os.path.join(out, "dcp_local"), use_collectives=False)
    # Leave together, then skip teardown: gloo's worker threads can abort a process while the interpreter
    # finalizes (SIGABRT "terminate called without an active exception"), after all work is done.
    dist.barrier()
    os._exit(0)


def make_dcp(out: str, files: dict, expected: dict) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(dcp_worker, args=(port, out), nprocs=2, join=True)
    root = os.path.join(out, "dcp")
    with open(os.path.join(root, ".metadata"), "rb") as f:
        meta_bytes = f.read()
    meta = dcp.FileSystemReader(root).read_metadata()
    files["dcp/.metadata"] = {"fields": pickle_fields(meta_bytes, 0), "tensors": [], "padding": [],
                              "pickles": [[0, len(meta_bytes)]]}
    per_file = {}
    for index, info in meta.storage_data.items():
        name = f"dcp/{info.relative_path}"
        with open(os.path.join(out, name), "rb") as f:
            f.seek(info.offset)
            item = f.read(info.length)
        owner = {"0": index.fqn}
        per_file.setdefault(name, []).append(torch_archive_map(item, info.offset, owner))
    for name, maps in per_file.items():
        files[name] = merge(*maps)
    expected["dcp"] = describe(dcp_state())
    expected["dcp_local"] = describe({"w": dcp_state()["layer.w"][:4]})
    local = os.path.join(out, "dcp_local")
    for name in sorted(os.listdir(local)):
        with open(os.path.join(local, name), "rb") as f:
            data = f.read()
        if name.endswith(".metadata"):
            files[f"dcp_local/{name}"] = {"fields": pickle_fields(data, 0), "tensors": [], "padding": [],
                                          "pickles": [[0, len(data)]]}


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files, expected = {}, {}
    make_pickle(out, files)
    make_torch(out, files, expected)
    make_safetensors(out, files, expected)
    make_dcp(out, files, expected)
    with open(os.path.join(out, "map.json"), "w") as f:
        json.dump({k: compact(v) for k, v in files.items()}, f, separators=(",", ":"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))


def compact(m: dict) -> dict:
    """Groups the little-endian fields by width (the map is committed, so it is kept small)."""
    le = {}
    for at, width, kind in m["fields"]:
        if kind == "le":
            le.setdefault(str(width), set()).add(at)
    return {"le": {w: sorted(ats) for w, ats in sorted(le.items())},
            "dec": [[at, width] for at, width, kind in m["fields"] if kind == "dec"],
            "tensors": m["tensors"], "padding": m["padding"], "pickles": m.get("pickles", [])}


if __name__ == "__main__":
    main()
