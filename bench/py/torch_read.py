"""The PyTorch side of the read benchmark: `dcp.load` of a whole checkpoint into preallocated tensors.

usage: torch_read.py CKPT_DIR
Prints one JSON line: seconds (the load only, not imports or allocation), bytes, peak_rss_bytes and a
sampled checksum the webdcp side computes the same way, to prove both read the same values.
"""
import json
import resource
import sys
import time

import torch.distributed.checkpoint as dcp

from checksum import sampled_checksum
from dcp_state import empty_state


def main():
    ckpt = sys.argv[1]
    meta = dcp.FileSystemReader(ckpt).read_metadata()
    state = empty_state(meta)
    start = time.perf_counter()
    dcp.load(state, checkpoint_id=ckpt)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds,
        "bytes": sum(t.numel() * t.element_size() for t in state.values()),
        "tensors": len(state),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "checksum": sum(sampled_checksum(t) for t in state.values()),
    }))


if __name__ == "__main__":
    main()
