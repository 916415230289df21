"""Runs torch.optim.AdamW on given parameters and per-step gradients.

Usage: adamw_reference.py IN.safetensors OUT.safetensors '{"lr":..,"betas":[..,..],"eps":..,"weight_decay":..,"steps":N}'

IN holds `p.<name>` (initial parameters) and `g<k>.<name>` (gradient of step k, k = 0..N-1); OUT gets
`p.<name>` after N steps.
"""
import json
import sys

import torch
from safetensors.torch import load_file, save_file


def main():
    tensors = load_file(sys.argv[1])
    cfg = json.loads(sys.argv[3])
    names = sorted(k[2:] for k in tensors if k.startswith("p."))
    params = {n: torch.nn.Parameter(tensors["p." + n].clone()) for n in names}
    opt = torch.optim.AdamW(list(params.values()), lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"],
                            weight_decay=cfg["weight_decay"])
    for k in range(cfg["steps"]):
        for n, p in params.items():
            p.grad = tensors[f"g{k}.{n}"].clone()
        opt.step()
    save_file({"p." + n: p.detach() for n, p in params.items()}, sys.argv[2])


if __name__ == "__main__":
    main()
