"""Loads a checkpoint folder with transformers and prints its logits for given token ids, as JSON.

Usage: hf_logits.py MODEL_DIR '[[ids...], [ids...]]'   -> [[[logit per vocab] per position] per sequence]
Each sequence runs on its own (no padding), in float32 on CPU.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM


@torch.no_grad()
def main():
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
    seqs = json.loads(sys.argv[2])
    print(json.dumps([model(torch.tensor([ids])).logits[0].tolist() for ids in seqs]))


if __name__ == "__main__":
    main()
