"""The PyTorch way to turn a DCP checkpoint in a bucket into a bfloat16 safetensors object in the bucket, through
fsspec: `dcp.load` from S3 with torch.distributed.checkpoint's FsspecReader (s3fs) into preallocated tensors,
`.to(torch.bfloat16)`, `safetensors.torch.save` and an upload of those bytes with s3fs. Credentials and the
endpoint come from the AWS_* environment (AWS_ENDPOINT_URL).

usage: torch_convert_s3.py s3://BUCKET/CKPT s3://BUCKET/OUT.safetensors
Prints one JSON line: seconds (load + cast + save + upload, not imports), bytes written, peak_rss_bytes.
"""
import json
import os
import resource
import sys
import time

import s3fs
import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import save
from torch.distributed.checkpoint import FsspecReader
from dcp_state import empty_state


# moto assembles a completed multipart upload in Python: on a loaded machine that takes longer than botocore's
# 60 s read timeout, and the retry then fails. webdcp's fetch has no such timeout; give s3fs none either.
S3_OPTIONS = {"config_kwargs": {"read_timeout": 3600}}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    start = time.perf_counter()
    reader = FsspecReader(src, endpoint_url=endpoint, **S3_OPTIONS)
    meta = reader.read_metadata()
    state = empty_state(meta)
    dcp.load(state, storage_reader=FsspecReader(src, endpoint_url=endpoint, **S3_OPTIONS))
    cast = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in state.items()}
    del state
    data = save(cast, metadata={"format": "pt"})
    s3fs.S3FileSystem(endpoint_url=endpoint, **S3_OPTIONS).pipe_file(dst, data)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds,
        "bytes": len(data),
        "tensors": len(cast),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
