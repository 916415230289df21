"""Checks a LoRA adapter saved by webtape against plain PyTorch + transformers (and PEFT, when installed).

Usage: lora_merge_check.py ADAPTER_DIR MERGED_DIR '[[ids...], ...]'

Reads ADAPTER_DIR/adapter_config.json and adapter_model.safetensors, loads the base checkpoint it names with
transformers (float32, CPU), adds (lora_alpha / r) * B @ A to every adapted projection's weight by hand, and
compares its logits with those of MERGED_DIR (`webtape model merge` output) loaded by transformers: they must agree
to 1e-4. When `peft` is importable, PeftModel.from_pretrained on the adapter must agree as well.
Prints JSON: {"logits": [[[...]]] of the hand-merged model, "merged_max_diff", "modules", "peft"} where "peft" is
PEFT's largest logit difference from the hand merge, or null when PEFT is not installed.
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

PREFIX = "base_model.model."


def logits(model, seqs):
    return [model(torch.tensor([ids])).logits[0] for ids in seqs]


def max_diff(xs, ys):
    return max((x - y).abs().max().item() for x, y in zip(xs, ys))


@torch.no_grad()
def main():
    adapter, merged_dir, seqs = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM", cfg
    scale = cfg["lora_alpha"] / cfg["r"]
    tensors = load_file(str(adapter / "adapter_model.safetensors"))
    base_dir = cfg["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    modules = 0
    for key in sorted(k for k in tensors if k.endswith(".lora_A.weight")):
        assert key.startswith(PREFIX), key
        path = key[len(PREFIX):-len(".lora_A.weight")]
        assert path.rsplit(".", 1)[1] in cfg["target_modules"], key
        a, b = tensors[key], tensors[key.replace("lora_A", "lora_B")]
        assert a.shape[0] == cfg["r"] and b.shape[1] == cfg["r"], (key, a.shape, b.shape)
        linear = model.get_submodule(path)
        linear.weight += scale * (b.float() @ a.float())
        modules += 1
    assert 2 * modules == len(tensors), "every lora_A has its lora_B"
    ours = logits(model, seqs)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    diff = max_diff(ours, logits(merged, seqs))
    assert diff < 1e-4, f"merged checkpoint differs from W + scale * B @ A by {diff}"
    try:
        from peft import PeftModel
    except ImportError:
        peft = None
    else:
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        with_adapter = PeftModel.from_pretrained(base, str(adapter)).eval()
        peft_diff = max_diff(ours, logits(with_adapter, seqs))
        assert peft_diff < 1e-4, f"PEFT's adapter forward differs by {peft_diff}"
        peft = peft_diff
    out = {"logits": [x.tolist() for x in ours], "merged_max_diff": diff, "modules": modules, "peft": peft}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
