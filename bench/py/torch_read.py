"""The PyTorch side of the read benchmark: `dcp.load` of a whole checkpoint into preallocated tensors.

usage: torch_read.py CKPT_DIR
Prints one JSON line: seconds (the load only, not imports or allocation), bytes, peak_rss_bytes and a
sampled checksum the webdcp side computes the same way, to prove both read the same values.
"""
import json
import resource
import sys
import time

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.metadata import TensorStorageMetadata

from checksum import sampled_checksum


def main():
    ckpt = sys.argv[1]
    meta = dcp.FileSystemReader(ckpt).read_metadata()
    state = {
        fqn: torch.empty(m.size, dtype=m.properties.dtype)
        for fqn, m in meta.state_dict_metadata.items()
        if isinstance(m, TensorStorageMetadata)
    }
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
