"""dcp.save of a small tensor into argv[1], then its .metadata rewritten by pickle so the tensor (and its one
its chunk stays 4 x 4) claims 2**40 x 2**42 elements: a count past 1e21, as a hostile or corrupt checkpoint may
hold."""
import pickle
import sys
import warnings

import torch
import torch.distributed.checkpoint as dcp

warnings.filterwarnings("ignore")
out = sys.argv[1]
dcp.save({"w": torch.zeros(4, 4)}, checkpoint_id=out, no_dist=True)
with open(f"{out}/.metadata", "rb") as f:
    meta = pickle.load(f)
w = meta.state_dict_metadata["w"]
w.size = torch.Size([2**40, 2**42])
with open(f"{out}/.metadata", "wb") as f:
    pickle.dump(meta, f)
