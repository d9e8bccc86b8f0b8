"""The PyTorch side's empty state dict for a DCP checkpoint: one tensor per stored tensor, of its size and
dtype, for `dcp.load` to fill (the way a PyTorch user loads a checkpoint without its model)."""
import torch
from torch.distributed.checkpoint.metadata import TensorStorageMetadata


def empty_state(meta) -> dict:
    return {
        fqn: torch.empty(m.size, dtype=m.properties.dtype)
        for fqn, m in meta.state_dict_metadata.items()
        if isinstance(m, TensorStorageMetadata)
    }
