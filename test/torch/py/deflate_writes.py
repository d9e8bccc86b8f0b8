"""Saves a state dict with torch.save into argv[1]/stored.pt, then rewrites that archive with Python's zipfile
and ZIP_DEFLATED into argv[1]/deflated.pt (every record deflated, as zipfile-based tools write them).

Prints JSON: describe() of torch.load(weights_only=True) of the deflated file (asserted equal to the stored
one) and, per record, its method, compressed and uncompressed sizes.
"""
import json
import os
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
from describe import describe  # noqa: E402


def main():
    out = sys.argv[1]
    g = torch.Generator().manual_seed(3)
    state = {
        "weight": torch.randn(512, 1024, generator=g),  # 2 MiB of noise: many input chunks, ratio near 1
        "zeros": torch.zeros(1 << 20, dtype=torch.bfloat16),  # 2 MiB that deflate packs ~1000:1
        "view": torch.arange(64, dtype=torch.int64).reshape(8, 8)[2:6, 1:5],
        "step": torch.tensor(7),
        "meta": {"lr": 0.5, "name": "deflated"},
    }
    stored = os.path.join(out, "stored.pt")
    deflated = os.path.join(out, "deflated.pt")
    torch.save(state, stored)
    with zipfile.ZipFile(stored) as zin, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(deflated) as z:
        records = {i.filename: [i.compress_type, i.compress_size, i.file_size] for i in z.infolist()}
    value = describe(torch.load(deflated, weights_only=True))
    assert value == describe(torch.load(stored, weights_only=True))
    json.dump({"value": value, "records": records}, sys.stdout)


main()
