"""Drives the pinned torchtitan (0.3.0) on CPU for the manager's round-trip tests.

  prepare <dir>                 a tiny word-level tokenizer and text dataset (generated, nothing downloaded)
  train <assets> <dump> <steps> <out.json> [--stop-after N] [torchtitan overrides...]
                                llama3 debugmodel training through torchtitan's own Trainer and
                                CheckpointManager; writes {"losses": {step: loss}, "loaded": sha256 of the
                                model's tensors right after the checkpointer's load, or null when it loaded
                                nothing}; --stop-after ends the process right after step N's checkpoint (as a
                                preempted job would)
  check-load <assets> <dump> <ref_step_dir> <dtype> <out.json> [torchtitan overrides...]
                                builds the trainer, lets its CheckpointManager load (initial_load_path...),
                                and compares the model with the reference step cast to <dtype>

TorchTitan has no CPU device type: torch reports no accelerator and torchtitan then assumes CUDA. The
shims here make torch report "cpu" before torchtitan is imported, and give `torch.cpu` the few memory
reporting calls torchtitan's metrics ask a device for (name, capacity, peak statistics: reporting only,
nothing that touches the numbers), and skip shortening process-group timeouts after the first step (its
barrier names a CUDA device index). And FlexAttention, llama3's only training attention here, has no
backward on CPU: its kernel is replaced by the same masked attention written with eager ops (the block mask
made dense with `create_mask`, softmax, grouped-query heads repeated). Every run of a test uses it, the
uninterrupted reference included. Model, optimizer, LR schedule, data loader, trainer loop and checkpoint
manager are torchtitan's own.
"""
import hashlib
import json
import os
import random
import socket
import sys

import torch
import torch._utils

# torchtitan imports torchao's MXFP8 MoE training linear when torchao has it and carries on without it
# (an ImportError). The torchao torchtune pins (0.14.1) has the module, but its triton kernels fail to
# compile their autotune keys under this torch's triton at import (a ValueError nobody catches). Hiding the
# module gives torchtitan the "torchao without MXFP8 MoE" case it handles; nothing here trains MXFP8.
sys.modules["torchao.prototype.moe_training"] = None

torch._utils._get_available_device_type = lambda: "cpu"


class _CpuProperties:
    total_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


for _name, _fn in {
    "get_device_name": lambda *a: "cpu",
    "get_device_properties": lambda *a: _CpuProperties(),
    "memory_stats": lambda *a: {},
    "reset_peak_memory_stats": lambda *a: None,
    "empty_cache": lambda *a: None,
}.items():
    if not hasattr(torch.cpu, _name):
        setattr(torch.cpu, _name, _fn)

def _eager_flex_attn(q, k, v, *, score_mod, block_mask, scale, enable_gqa, return_aux, kernel_options):
    from torch.nn.attention.flex_attention import AuxOutput, create_mask

    assert score_mod is None, "the shim covers mask-only attention (llama3's)"
    B, N, L, H = q.shape
    if enable_gqa and k.shape[1] != N:
        k = k.repeat_interleave(N // k.shape[1], dim=1)
        v = v.repeat_interleave(N // v.shape[1], dim=1)
    mask = create_mask(block_mask.mask_mod, B, 1, L, k.shape[2], device=q.device)
    scores = (q @ k.transpose(-2, -1)) * (scale if scale is not None else H ** -0.5)
    scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    out = torch.softmax(scores, dim=-1) @ v
    return out, AuxOutput(lse=lse if return_aux is not None and return_aux.lse else None)


def _install_cpu_shims():
    from torchtitan.distributed import utils as dist_utils
    from torchtitan.models.common.attention import FlexAttention

    FlexAttention._compiled_flex_attn = staticmethod(_eager_flex_attn)
    # After the first step torchtitan shortens the process-group timeouts behind a barrier on the current
    # device, which for "cpu" is not a device index gloo accepts. Timeouts only: one process waits on no one.
    dist_utils.set_pg_timeouts = lambda *a, **k: None


WORDS = [f"w{i}" for i in range(400)]


def prepare(out):
    from tokenizers import Tokenizer, models, pre_tokenizers

    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    vocab = {"<|begin_of_text|>": 0, "<|end_of_text|>": 1, "<unk>": 2}
    for w in WORDS:
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(os.path.join(out, "tokenizer", "tokenizer.json"))
    with open(os.path.join(out, "tokenizer", "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True, "add_eos_token": True}, f)
    rng = random.Random(0)
    with open(os.path.join(out, "data", "train.json"), "w") as f:
        for _ in range(400):
            # Short "sentences" with structure (a word is often followed by its successor) so losses fall.
            w = rng.randrange(len(WORDS))
            words = []
            for _ in range(rng.randrange(20, 60)):
                words.append(WORDS[w])
                w = (w + 1) % len(WORDS) if rng.random() < 0.7 else rng.randrange(len(WORDS))
            f.write(json.dumps({"text": " ".join(words)}) + "\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(assets, dump, steps, overrides):
    os.environ.update({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())})
    from torchtitan.config import ConfigManager

    args = [
        "--module", "llama3", "--config", "llama3_debugmodel",
        "--dump_folder", dump,
        "--hf_assets_path", os.path.join(assets, "tokenizer"),
        "--dataloader.dataset_path", os.path.join(assets, "data"),
        "--training.steps", str(steps),
        "--training.seq_len", "32",
        "--training.local_batch_size", "2",
        "--debug.seed", "0",
        "--debug.deterministic",
        "--validator.no-enable",
        "--checkpoint.enable",
        "--checkpoint.keep_latest_k", "0",
        *overrides,
    ]
    config = ConfigManager().parse_args(args)
    trainer = config.build()
    # After the build: --debug.deterministic installs its own compiled kernel there.
    _install_cpu_shims()
    return trainer


class Stop(Exception):
    pass


def train(assets, dump, steps, losses_path, rest):
    stop_after = None
    if rest[:1] == ["--stop-after"]:
        stop_after, rest = int(rest[1]), rest[2:]
    trainer = build(assets, dump, int(steps), rest)
    losses = {}
    log = trainer.metrics_processor.log

    def record(step, avg, *a, **k):
        losses[step] = float(avg)
        return log(step, avg, *a, **k)

    trainer.metrics_processor.log = record
    save = trainer.checkpointer.save

    def save_then_maybe_stop(step, last_step=False):
        saved = save(step, last_step=last_step)
        if stop_after is not None and step == stop_after:
            trainer.checkpointer.maybe_wait_for_saving()
            raise Stop()
        return saved

    trainer.checkpointer.save = save_then_maybe_stop
    load = trainer.checkpointer.load
    loaded = None

    def load_then_digest(*a, **k):
        nonlocal loaded
        if load(*a, **k):
            h = hashlib.sha256()
            for name, t in sorted(trainer.checkpointer.states["model"].state_dict().items()):
                if hasattr(t, "full_tensor"):  # a DTensor (on a one-process mesh: the whole tensor)
                    t = t.full_tensor()
                h.update(name.encode())
                h.update(str(t.dtype).encode())
                h.update(t.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            loaded = h.hexdigest()
        return loaded is not None

    trainer.checkpointer.load = load_then_digest
    try:
        trainer.train()
    except Stop:
        pass
    finally:
        trainer.close()
        torch.distributed.destroy_process_group()
    with open(losses_path, "w") as f:
        json.dump({"losses": {str(k): v for k, v in sorted(losses.items())}, "loaded": loaded}, f)


def check_load(assets, dump, ref_dir, dtype, out_path, rest):
    import torch.distributed.checkpoint as dcp

    trainer = build(assets, dump, 10, rest)
    try:
        loaded = trainer.checkpointer.load(step=-1)
        model = trainer.checkpointer.states["model"].state_dict()
        ref = {k: torch.empty_like(v) for k, v in model.items()}
        dcp.load(ref, checkpoint_id=ref_dir)
        want = getattr(torch, dtype)
        diffs = {k: float((model[k] - ref[k].to(want).to(model[k].dtype)).abs().max()) for k in model}
        with open(out_path, "w") as f:
            json.dump({"loaded": loaded, "keys": len(model), "max_abs_diff": max(diffs.values()),
                       "changed_by_cast": sum(1 for k in model if not torch.equal(ref[k], ref[k].to(want).to(ref[k].dtype)))}, f)
    finally:
        trainer.close()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    mode, *argv = sys.argv[1:]
    if mode == "prepare":
        prepare(argv[0])
    elif mode == "train":
        train(argv[0], argv[1], argv[2], argv[3], argv[4:])
    elif mode == "check-load":
        check_load(argv[0], argv[1], argv[2], argv[3], argv[4], argv[5:])
    else:
        raise SystemExit(f"unknown mode {mode}")
