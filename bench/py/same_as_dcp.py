"""Checks that a safetensors file holds exactly the tensors of a DCP checkpoint as PyTorch's `dcp.load` reads
them (names, dtypes, shapes and bytes), so a same-dtype conversion is proven to have moved every byte.
usage: same_as_dcp.py SAFETENSORS CKPT_DIR. Exit 0 and a JSON line when equal."""
import json
import sys

import torch
import torch.distributed.checkpoint as dcp
from safetensors import safe_open
from dcp_state import empty_state


def main():
    st_path, ckpt = sys.argv[1], sys.argv[2]
    meta = dcp.FileSystemReader(ckpt).read_metadata()
    state = empty_state(meta)
    dcp.load(state, checkpoint_id=ckpt)
    with safe_open(st_path, "pt") as f:
        if sorted(f.keys()) != sorted(state):
            sys.exit(f"different tensor names: {sorted(set(f.keys()) ^ set(state))[:5]}")
        for name, want in state.items():
            got = f.get_tensor(name)
            if got.dtype != want.dtype or got.shape != want.shape or not torch.equal(
                got.contiguous().view(torch.uint8), want.contiguous().view(torch.uint8)
            ):
                sys.exit(f"'{name}' differs: {got.dtype} {tuple(got.shape)} vs {want.dtype} {tuple(want.shape)}")
    print(json.dumps({"same": True, "tensors": len(state)}))


if __name__ == "__main__":
    main()
