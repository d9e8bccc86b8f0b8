"""The PyTorch way to turn a DCP checkpoint into a bfloat16 safetensors file: `dcp.load` of the full
state into preallocated tensors, `.to(torch.bfloat16)`, `safetensors.torch.save_file`.

usage: torch_convert.py CKPT_DIR OUT_FILE
Prints one JSON line: seconds (load + cast + save, not imports), bytes written, peak_rss_bytes.
"""
import json
import os
import resource
import sys
import time

import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import save_file
from dcp_state import empty_state


def main():
    ckpt, out = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    meta = dcp.FileSystemReader(ckpt).read_metadata()
    state = empty_state(meta)
    dcp.load(state, checkpoint_id=ckpt)
    cast = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in state.items()}
    save_file(cast, out, metadata={"format": "pt"})
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds,
        "bytes": os.path.getsize(out),
        "tensors": len(cast),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
