"""An HF assets folder as TorchTitan's HF export leaves it (tokenizer and generation files, no config.json),
and the check that transformers loads a converted folder built with it.

usage: hf_assets.py make DIR     writes a small real tokenizer (tokenizers + transformers save_pretrained)
                                 and a generation_config.json into DIR, and no config.json
       hf_assets.py check DIR    loads DIR with AutoConfig, AutoTokenizer, GenerationConfig and
                                 LlamaForCausalLM.from_pretrained; prints one JSON line
"""
import json
import os
import sys

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoConfig, AutoTokenizer, GenerationConfig, LlamaForCausalLM, PreTrainedTokenizerFast

WORDS = ["<s>", "</s>", "<unk>", "hello", "world", "checkpoint", "webdcp"]


def make(out):
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(out)
    GenerationConfig(bos_token_id=0, eos_token_id=1, max_new_tokens=7, temperature=0.6, do_sample=True).save_pretrained(out)
    assert not os.path.exists(os.path.join(out, "config.json"))
    print(json.dumps({"ok": True, "files": sorted(os.listdir(out))}))


def check(folder):
    config = AutoConfig.from_pretrained(folder)
    model = LlamaForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    generation = GenerationConfig.from_pretrained(folder)
    print(json.dumps({
        "ok": True,
        "model_type": config.model_type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "ids": tokenizer("hello webdcp world")["input_ids"],
        "max_new_tokens": generation.max_new_tokens,
        "eos_token_id": generation.eos_token_id,
        "files": sorted(os.listdir(folder)),
    }))


{"make": make, "check": check}[sys.argv[1]](*sys.argv[2:])
