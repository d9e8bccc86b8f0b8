"""Writes real torch.save files for the stored-range tests into OUTDIR:
crc_on.pt and crc_off.pt (the same tensors, the second with torch's CRC-32 computation turned off), each a
dict with a contiguous float32 [64, 16] 'w' and a transposed (non-contiguous) view 't'."""
import os
import sys

import torch
import torch.serialization


def state():
    w = torch.arange(64 * 16, dtype=torch.float32).reshape(64, 16)
    return {"w": w, "t": torch.arange(12, dtype=torch.int32).reshape(3, 4).t()}


out = sys.argv[1]
torch.save(state(), os.path.join(out, "crc_on.pt"))
torch.serialization.set_crc32_options(False)
torch.save(state(), os.path.join(out, "crc_off.pt"))
