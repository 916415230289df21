"""Loads a `webtape model init` checkpoint with transformers (AutoTokenizer + AutoModelForCausalLM) and reports
what it makes of it, as JSON, for the Rust side to compare.

Usage: hf_init_check.py MODEL_DIR REQUEST.json
REQUEST: {"texts": [str], "messages": [chat messages], "tools": [tool schemas], "logit_ids": [[token ids]]}
Prints: {"ids": [ids per text, no special tokens added], "decoded": [text of those ids], "chat": the rendered
generation prompt, "logits": [[[logit per vocab] per position] per logit_ids sequence], "vocab": len(tokenizer),
"special": [the tokenizer's all_special_tokens]}. float32 on CPU.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


@torch.no_grad()
def main():
    model_dir = sys.argv[1]
    with open(sys.argv[2], encoding="utf-8") as f:
        req = json.load(f)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = [tok.encode(t, add_special_tokens=False) for t in req["texts"]]
    chat = tok.apply_chat_template(req["messages"], tools=req["tools"], tokenize=False, add_generation_prompt=True)
    logits = [model(torch.tensor([x])).logits[0].tolist() for x in req["logit_ids"]]
    print(json.dumps({
        "ids": ids,
        "decoded": [tok.decode(x, skip_special_tokens=False) for x in ids],
        "chat": chat,
        "logits": logits,
        "vocab": len(tok),
        "special": list(tok.all_special_tokens),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
