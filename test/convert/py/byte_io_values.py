"""BYTE_IO values as TorchTitan writes them, through webdcp and back.

usage: byte_io_values.py write DCP_DIR
         dcp.save (no_dist) of a state dict whose non-tensor leaves are what TorchTitan's checkpoint holds:
         tuples, floats, ints (also past 64 bits), bytes, a StatefulDataLoader's state (raw, and pickled
         per rank as TorchTitan's ParallelAwareDataloader stores it)
       byte_io_values.py check SRC_DCP OUT_DCP OUT_PT
         prints one JSON line: for every BYTE_IO item of SRC_DCP, whether OUT_DCP holds the same bytes, and
         whether OUT_DCP (read back with dcp) and OUT_PT (torch.load) give values equal to the originals,
         types included
"""
import json
import os
import pickle
import sys
import tempfile
import warnings

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
from torch.distributed.checkpoint.metadata import BytesStorageMetadata
from torchdata.stateful_dataloader import StatefulDataLoader


def make_loader():
    return StatefulDataLoader(list(range(40)), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(5))


def dataloader_state():
    """The state after 3 batches, and the batch that comes next."""
    loader = make_loader()
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = loader.state_dict()
    return state, next(it)


def resumes(state):
    """Whether a fresh loader given `state` yields the batch the original yielded after it."""
    loader = make_loader()
    loader.load_state_dict(state)
    return torch.equal(next(iter(loader)), dataloader_state()[1])


def values():
    state = dataloader_state()[0]
    return {
        "train_state": {"step": 7, "ntokens_seen": 2**40 + 3, "huge": 2**70, "lr": 3e-4, "loss": float("-inf"),
                        "betas": (0.9, 0.95), "pair": (1, (2.5, "x", None)), "blob": bytes(range(256)),
                        "flag": True, "name": "llama3"},
        "dataloader": {"dp_rank_0": pickle.dumps(state), "world_size": 1},
        "dataloader_state": state,
    }


def state_dict():
    return {"model": {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, **values()}


def write(out):
    # Pickled tensors embed a fresh serialization id, so the expected values are kept from this one run.
    sd = state_dict()
    dcp.save(sd, checkpoint_id=out, no_dist=True)
    with open(expected_path(out), "wb") as f:
        pickle.dump({k: sd[k] for k in values()}, f)
    print(json.dumps({"ok": True}))


def expected_path(dcp_dir):
    return os.path.normpath(dcp_dir) + ".expected.pkl"


def byte_items(path):
    reader = dcp.FileSystemReader(path)
    meta = reader.read_metadata()
    items = {}
    for index, info in meta.storage_data.items():
        if isinstance(meta.state_dict_metadata[index.fqn], BytesStorageMetadata):
            with open(os.path.join(path, info.relative_path), "rb") as f:
                f.seek(info.offset)
                items[index.fqn] = f.read(info.length)
    return items


def same(a, b):
    """Python's equality (dicts without order) that also requires the same types all the way down (1.0 is not
    1, a tuple is not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return a == b


def check(src, out_dcp, out_pt):
    warnings.filterwarnings("ignore")
    with open(expected_path(src), "rb") as f:
        expected = pickle.load(f)
    a, b = byte_items(src), byte_items(out_dcp)
    copied = {k: a[k] == b.get(k) for k in a}
    with tempfile.TemporaryDirectory() as tmp:
        dcp_to_torch_save(out_dcp, os.path.join(tmp, "x.pt"))
        from_dcp = torch.load(os.path.join(tmp, "x.pt"), weights_only=False)
    from_pt = torch.load(out_pt, weights_only=False)
    report = {
        "byte_items": len(a),
        "copied": copied,
        "dcp_equal": {k: same(v, from_dcp.get(k)) for k, v in expected.items()},
        "pt_equal": {k: same(v, from_pt.get(k)) for k, v in expected.items()},
        "dataloader_resumes": resumes(pickle.loads(from_pt["dataloader"]["dp_rank_0"])) and resumes(from_dcp["dataloader"]
                              and pickle.loads(from_dcp["dataloader"]["dp_rank_0"])) and resumes(from_pt["dataloader_state"]),
    }
    report["ok"] = (all(copied.values()) and all(report["dcp_equal"].values()) and all(report["pt_equal"].values())
                    and report["dataloader_resumes"])
    print(json.dumps(report))


{"write": write, "check": check}[sys.argv[1]](*sys.argv[2:])
