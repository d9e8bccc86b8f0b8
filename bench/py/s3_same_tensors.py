"""Checks that two safetensors objects in a bucket hold the same tensor names, dtypes, shapes and bytes, so the
S3 benchmark compares programs that produced the same result. Endpoint and credentials from the AWS_*
environment. Exit 0 and a JSON line when equal.

usage: s3_same_tensors.py s3://BUCKET/A.safetensors s3://BUCKET/B.safetensors
"""
import json
import os
import sys

import s3fs
import torch
from safetensors.torch import load


def main():
    fs = s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"], config_kwargs={"read_timeout": 3600})
    a, b = (load(fs.cat_file(url)) for url in sys.argv[1:3])
    if sorted(a) != sorted(b):
        sys.exit(f"different tensor names: {sorted(set(a) ^ set(b))[:5]}")
    for name, x in a.items():
        y = b[name]
        if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x.contiguous().view(torch.uint8), y.contiguous().view(torch.uint8)):
            sys.exit(f"'{name}' differs: {x.dtype} {tuple(x.shape)} vs {y.dtype} {tuple(y.shape)}")
    print(json.dumps({"same": True, "tensors": len(a)}))


if __name__ == "__main__":
    main()
