"""Python side of the llama3 <-> HuggingFace end-to-end proof (test/interop/llama3_hf.test.ts).

Subcommands (each prints one JSON line on stdout):
  tt-save   DIR    build TorchTitan's llama3 debugmodel with seeded random weights, dcp.save its model state
                   dict to DIR/dcp, store the token batch and TorchTitan's logits in DIR/ref.pt, and the
                   reference conversion by TorchTitan's own Llama3StateDictAdapter.to_hf in DIR/titan_hf.safetensors
  hf-check  HFDIR REF   LlamaForCausalLM.from_pretrained(HFDIR) must reproduce REF's logits
  hf-save   DIR    save_pretrained a random LlamaForCausalLM shaped like the debugmodel to DIR/hf, logits to DIR/ref.pt
  tt-check  DCPDIR REF  dcp.load DCPDIR into TorchTitan's debugmodel; its logits must reproduce REF's
  same-tensors A B  two safetensors files or folders hold the same keys with bit-identical tensors
"""

import json
import os
import sys

import torch
import torch.distributed.checkpoint as dcp

FLAVOR = "debugmodel"
ATOL = 1e-5
SEED = 1234


def build_titan():
    from torchtitan.models.llama3 import model_registry

    spec = model_registry(FLAVOR)
    model = spec.model.build()
    model.init_states(buffer_device=torch.device("cpu"))
    model.eval()
    return spec, model


def titan_logits(model, tokens):
    positions = torch.arange(tokens.shape[1]).unsqueeze(0).expand(tokens.shape[0], -1)
    masks = model.get_attention_masks(positions)
    with torch.no_grad():
        return model(tokens, positions=positions, attention_masks=masks)


def hf_logits(model, tokens):
    with torch.no_grad():
        return model(input_ids=tokens).logits


def randomize(named_params):
    # Norm weights get noise too, so that swapping attention_norm and ffn_norm would change the logits.
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in named_params:
            if p.ndim == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def token_batch(vocab):
    g = torch.Generator().manual_seed(SEED + 1)
    return torch.randint(0, vocab, (2, 48), generator=g)


def report(ok, **fields):
    print(json.dumps({"ok": bool(ok), **fields}))
    return 0 if ok else 1


def compare(got, ref):
    diff = (got - ref).abs().max().item()
    return report(diff <= ATOL, max_abs_diff=diff, shape=list(got.shape), ref_max=ref.abs().max().item())


def tt_save(out):
    from safetensors.torch import save_file

    torch.manual_seed(SEED)
    spec, model = build_titan()
    randomize(model.named_parameters())
    tokens = token_batch(spec.model.vocab_size)
    logits = titan_logits(model, tokens)
    state = model.state_dict()
    dcp.save(state, checkpoint_id=os.path.join(out, "dcp"))
    torch.save({"tokens": tokens, "logits": logits}, os.path.join(out, "ref.pt"))
    adapter = spec.state_dict_adapter(spec.model, None)
    hf = {k: v.contiguous() for k, v in adapter.to_hf(state).items()}
    save_file(hf, os.path.join(out, "titan_hf.safetensors"))
    return report(True, keys=len(state))


def hf_check(hf_dir, ref_path):
    from transformers import LlamaForCausalLM

    ref = torch.load(ref_path, weights_only=True)
    model = LlamaForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return compare(hf_logits(model, ref["tokens"]), ref["logits"])


def hf_save(out):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    # Written independently of our hf_config.ts: TorchTitan's debugmodel as HF spells it.
    config = LlamaConfig(
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=6,
        num_attention_heads=16,
        num_key_value_heads=16,
        head_dim=16,
        vocab_size=2048,
        rms_norm_eps=1e-5,
        max_position_embeddings=131072,
        tie_word_embeddings=False,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 500000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
    )
    model = LlamaForCausalLM(config)
    randomize(model.named_parameters())
    model.eval()
    tokens = token_batch(config.vocab_size)
    logits = hf_logits(model, tokens)
    model.save_pretrained(os.path.join(out, "hf"))
    torch.save({"tokens": tokens, "logits": logits}, os.path.join(out, "ref.pt"))
    return report(True, keys=len(model.state_dict()))


def tt_check(dcp_dir, ref_path):
    ref = torch.load(ref_path, weights_only=True)
    _, model = build_titan()
    state = model.state_dict()
    dcp.load(state, checkpoint_id=dcp_dir)
    model.load_state_dict(state)
    return compare(titan_logits(model, ref["tokens"]), ref["logits"])


def load_safetensors(path):
    from safetensors.torch import load_file

    if os.path.isfile(path):
        return load_file(path)
    tensors = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(path, name)))
    return tensors


def same_tensors(a_path, b_path):
    a, b = load_safetensors(a_path), load_safetensors(b_path)
    differing = sorted(
        k for k in a.keys() & b.keys()
        if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k].view(torch.uint8), b[k].view(torch.uint8))
    )
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    return report(not (differing or only_a or only_b), keys=len(a), differing=differing, only_a=only_a, only_b=only_b)


COMMANDS = {"tt-save": tt_save, "hf-check": hf_check, "hf-save": hf_save, "tt-check": tt_check, "same-tensors": same_tensors}

if __name__ == "__main__":
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
