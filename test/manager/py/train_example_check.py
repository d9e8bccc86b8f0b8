"""Loads the TypeScript training example's checkpoint into the same model defined in torch.

  python train_example_check.py <step_dir> <inputs> <hidden> <outputs> <x.json> <out.json>

dcp.load fills nn.Sequential(Linear, Tanh, Linear)'s state dict (strict: every key must be there) from the
step folder; the model's outputs for the inputs in x.json go to out.json.
"""
import json
import sys

import torch
import torch.distributed.checkpoint as dcp

step_dir, n_in, n_hidden, n_out, x_path, out_path = sys.argv[1:]
model = torch.nn.Sequential(torch.nn.Linear(int(n_in), int(n_hidden)), torch.nn.Tanh(), torch.nn.Linear(int(n_hidden), int(n_out)))
state = model.state_dict()
dcp.load(state, checkpoint_id=step_dir)
model.load_state_dict(state)
with open(x_path) as f:
    x = torch.tensor(json.load(f), dtype=torch.float32).reshape(-1, int(n_in))
with torch.no_grad():
    out = model(x)
with open(out_path, "w") as f:
    json.dump(out.flatten().tolist(), f)
