"""Loads each `kind:path` argument with the real peer and prints their descriptions as one JSON list.

kinds: pt (torch.load, weights_only=True), st (safetensors.torch.load_file), dcp (a DCP folder, read with
torch.distributed.checkpoint's dcp_to_torch_save).
"""
import json
import os
import sys
import tempfile
import warnings

import torch
from safetensors.torch import load_file
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

sys.path.insert(0, os.path.dirname(__file__))
from describe import describe  # noqa: E402


def load(kind, path):
    if kind == "pt":
        return torch.load(path, weights_only=True)
    if kind == "st":
        return dict(sorted(load_file(path).items()))
    if kind == "dcp":
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.pt")
            dcp_to_torch_save(path, out)
            return torch.load(out, weights_only=True)
    raise ValueError(kind)


def main():
    warnings.filterwarnings("ignore")
    json.dump([describe(load(*arg.split(":", 1))) for arg in sys.argv[1:]], sys.stdout)


main()
