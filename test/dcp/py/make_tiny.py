"""Remakes the committed fixture test/dcp/data/tiny: a real single-process torch dcp.save of
{"w": arange(6.).reshape(2, 3), "step": 3}. The adversarial DCP tests mutate copies of it.

Generator version 1, made with the peers pinned in test/interop/requirements.txt (torch 2.15.0, CPython 3.11).
The .metadata holds a fresh save_id and the output path, so a remade fixture differs from the committed one
in those bytes only.

usage: make_tiny.py <out-dir>    (e.g. test/dcp/data/tiny)
"""
import shutil
import sys

import torch
import torch.distributed.checkpoint as dcp

out = sys.argv[1]
shutil.rmtree(out, ignore_errors=True)
dcp.save({"w": torch.arange(6.0).reshape(2, 3), "step": 3}, checkpoint_id=out, no_dist=True)
print(f"wrote {out} with torch {torch.__version__}")
