"""A module state dict's `_metadata` (per-module versions) through webdcp's .pt -> .pt conversion.

usage: module_metadata.py write DIR
         torch.save of a module's state_dict() (whose modules carry versions) into DIR/zip.pt, the same
         with _use_new_zipfile_serialization=False into DIR/legacy.pt, and nested under "model" beside
         other entries into DIR/nested.pt
       module_metadata.py check ORIGINAL CONVERTED [KEY]
         prints one JSON line: the `_metadata` of both (under KEY when given), and the versions a fresh
         module's load_state_dict sees for each of its modules when given the converted state dict
"""
import json
import sys

import torch


class Versioned(torch.nn.Module):
    _version = 3

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)


class Net(torch.nn.Module):
    _version = 5

    def __init__(self):
        super().__init__()
        self.block = Versioned()
        self.norm = torch.nn.BatchNorm1d(2)


def versions_seen(net, state_dict):
    """The version each module's load sees in its local metadata (what old-format upgrades key on)."""
    seen = {}

    def hook(module, sd, prefix, local_metadata, *rest):
        seen[prefix or "<root>"] = local_metadata.get("version")

    for m in net.modules():
        m._register_load_state_dict_pre_hook(hook, with_module=True)
    net.load_state_dict(state_dict)
    return seen


def plain(v):
    return {k: dict(x) for k, x in v.items()} if v is not None else None


def write(out):
    torch.manual_seed(0)
    sd = Net().state_dict()
    torch.save(sd, f"{out}/zip.pt")
    torch.save(sd, f"{out}/legacy.pt", _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "step": 3}, f"{out}/nested.pt")
    print(json.dumps({"ok": True}))


def check(original, converted, key=None):
    a = torch.load(original, weights_only=True)
    b = torch.load(converted, weights_only=True)
    if key:
        a, b = a[key], b[key]
    meta_a, meta_b = plain(getattr(a, "_metadata", None)), plain(getattr(b, "_metadata", None))
    print(json.dumps({"ok": meta_a == meta_b and meta_a is not None, "original": meta_a, "converted": meta_b,
                      "seen": versions_seen(Net(), b), "type": type(b).__name__}))


{"write": write, "check": check}[sys.argv[1]](*sys.argv[2:])
