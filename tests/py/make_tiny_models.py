"""Builds tiny random Qwen2, Qwen3 and Llama checkpoints with Hugging Face transformers, plus reference outputs.

Usage: make_tiny_models.py OUT_DIR

Writes, under OUT_DIR:
  qwen2/, qwen3/, llama/   checkpoint folders (config.json, *.safetensors, tokenizer.json, tokenizer_config.json);
                           qwen2 is sharded into several files with model.safetensors.index.json, qwen3 ties its
                           embeddings, llama uses the old-style config keys (rope_theta + rope_scaling llama3).
  <model>/reference.json   logits (unpadded and left-padded batch) and greedy generations from HF `generate`.
  chat.json                conversations, their `apply_chat_template` strings and the token ids `tokenizers` gives,
                           for qwen2 (Qwen2.5-7B-Instruct's template) and qwen3 (Qwen3's template, thinking and all).
Everything is deterministic (fixed seeds, CPU, float32).
"""
import json
import os
import sys
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config, Qwen3Config

HERE = Path(__file__).resolve().parent
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EXTRA = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "Hello world",
    "The quick brown fox jumps over the lazy dog. It was a sunny day and the fox",
]


def corpus():
    """Deterministic training text: docstrings of a few standard-library modules plus tool-call-like lines."""
    import collections, json as js, re, textwrap, string, argparse

    lines = []
    for mod in (collections, js, re, textwrap, string, argparse):
        for name in sorted(dir(mod)):
            doc = getattr(getattr(mod, name), "__doc__", None)
            if isinstance(doc, str):
                lines.extend(doc.splitlines())
    lines += ['{"name": "search", "arguments": {"query": "capital of France"}}'] * 20
    lines += ["What is the capital of France? Paris is the capital of France.", "Héllo wörld — ünïcode ✓ 你好"] * 10
    return lines


def write_tokenizer_config(out: Path, template_file: str):
    cfg = {
        "tokenizer_class": "Qwen2Tokenizer",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "model_max_length": 4096,
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "errors": "replace",
        "chat_template": (HERE / template_file).read_text(),
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False))


def build_tokenizer(out: Path):
    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.add_special_tokens(EXTRA)  # Qwen marks these as added tokens too (special=False there; fine for tests)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    write_tokenizer_config(out, "qwen2_5_chat_template.jinja")
    return tok


def model_configs(vocab, tok):
    eos, pad = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")
    common = dict(
        vocab_size=vocab, hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=4096, rms_norm_eps=1e-6, initializer_range=0.2, eos_token_id=eos,
        pad_token_id=pad, bos_token_id=pad,
    )
    return {
        "qwen2": Qwen2Config(num_hidden_layers=3, rope_theta=10000.0, tie_word_embeddings=False, **common),
        "qwen3": Qwen3Config(num_hidden_layers=2, head_dim=24, rope_theta=1000000.0, tie_word_embeddings=True,
                             attention_bias=False, **common),
        "llama": LlamaConfig(num_hidden_layers=4, rope_theta=500000.0, tie_word_embeddings=False,
                             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                             **common),
    }


def old_style_config(path: Path):
    """Rewrites config.json with the pre-v5 key names real checkpoints use (rope_theta, rope_scaling, torch_dtype)."""
    cfg = json.loads(path.read_text())
    rope = cfg.pop("rope_parameters", None) or {}
    cfg["rope_theta"] = rope.pop("rope_theta", 10000.0)
    if rope.get("rope_type", "default") != "default":
        cfg["rope_scaling"] = rope
    cfg["torch_dtype"] = cfg.pop("dtype", "float32")
    path.write_text(json.dumps(cfg, indent=2))


@torch.no_grad()
def references(model_dir: Path, tok):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = [tok.encode(p, add_special_tokens=False).ids for p in PROMPTS]
    single = [model(torch.tensor([x])).logits[0].tolist() for x in ids]
    pad = model.config.pad_token_id
    width = max(len(x) for x in ids)
    padded = [[pad] * (width - len(x)) + x for x in ids]
    mask = [[0] * (width - len(x)) + [1] * len(x) for x in ids]
    mask_t = torch.tensor(mask)
    positions = (mask_t.cumsum(-1) - 1).clamp(min=0)  # what HF `generate` passes for left padding
    batch = model(torch.tensor(padded), attention_mask=mask_t, position_ids=positions).logits
    batch_logits = [batch[i, width - len(x):].tolist() for i, x in enumerate(ids)]
    greedy = []
    for x in ids:
        out = model.generate(torch.tensor([x]), attention_mask=torch.ones(1, len(x), dtype=torch.long),
                             do_sample=False, max_new_tokens=24, eos_token_id=None, pad_token_id=pad)
        greedy.append(out[0, len(x):].tolist())
    return {"inputs": ids, "logits": single, "padded_logits": batch_logits, "greedy": greedy, "pad_id": pad}


def conversations():
    tools = [
        {"type": "function", "function": {
            "name": "search", "description": "Search the web <fast> & \"exact\"; returns 'top' hits.",
            "parameters": {"type": "object", "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "k": {"type": "integer", "default": 5, "minimum": 1.5}},
                "required": ["query"]}}},
        {"type": "function", "function": {"name": "open_page", "description": "Öffnet eine Seite — 页面",
                                          "parameters": {"type": "object", "properties": {"url": {"type": "string"}}}}},
    ]
    call = {"type": "function", "function": {"name": "search",
                                             "arguments": {"query": "capital of France \"quoted\" <b>", "k": 3,
                                                           "flags": [True, False, None], "ratio": 0.25}}}
    call2 = {"name": "open_page", "arguments": {"url": "https://example.org/ü?a=1&b=2"}}
    return [
        {"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi there!"}],
         "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "No system prompt here. 你好"}], "add_generation_prompt": True},
        {"messages": [{"role": "user", "content": "Find it."}], "tools": tools, "add_generation_prompt": True},
        {"messages": [
            {"role": "system", "content": "You research things."},
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": "Paris is the capital."},
            {"role": "assistant", "content": "Let me open two pages.", "tool_calls": [call2, call2]},
            {"role": "tool", "content": "page one"},
            {"role": "tool", "content": "page two"},
            {"role": "assistant", "content": "<answer>Paris</answer>"},
            {"role": "system", "content": "Late system note."},
            {"role": "user", "content": "Thanks"},
        ], "tools": tools, "add_generation_prompt": False},
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                      {"role": "user", "content": "c"}], "add_generation_prompt": True},
    ]


def qwen3_conversations():
    tools = conversations()[2]["tools"]
    think = "<think>\nThe user greets.\n</think>\n\nHello!"
    call = {"type": "function", "function": {"name": "search", "arguments": '{"query": "raw string args"}'}}
    return [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": think}, {"role": "user", "content": "Again"}],
         "add_generation_prompt": True, "kwargs": {"enable_thinking": False}},
        {"messages": [
            {"role": "user", "content": "Search it"},
            {"role": "assistant", "content": "", "reasoning_content": "\nI should search.\n", "tool_calls": [call]},
            {"role": "tool", "content": "result one"},
            {"role": "assistant", "content": "<think>Found it.</think>\n\nIt is Paris.",
             "tool_calls": [{"name": "open_page", "arguments": {"url": "u"}}]},
            {"role": "tool", "content": "page"},
            {"role": "assistant", "content": "<think>\nDone.\n</think>\n\nParis."},
        ], "tools": tools, "add_generation_prompt": False},
        {"messages": [{"role": "user", "content": "<tool_response>x</tool_response>"}], "tools": tools,
         "add_generation_prompt": True, "kwargs": {"enable_thinking": True}},
    ]


def chat_reference(out: Path, tok):
    cases = []
    for model, convs in (("qwen2", conversations()), ("qwen3", qwen3_conversations())):
        hf = AutoTokenizer.from_pretrained(out / model)
        for conv in convs:
            text = hf.apply_chat_template(conv["messages"], tools=conv.get("tools"), tokenize=False,
                                          add_generation_prompt=conv["add_generation_prompt"],
                                          **conv.get("kwargs", {}))
            cases.append(dict(conv, model=model, text=text, ids=tok.encode(text, add_special_tokens=False).ids))
    return cases


def main():
    out = Path(sys.argv[1])
    torch.manual_seed(0)
    tok_dir = out / "tokenizer"
    tok = build_tokenizer(tok_dir)
    vocab = tok.get_vocab_size()
    for name, cfg in model_configs(vocab, tok).items():
        torch.manual_seed(1234)
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval()
        mdir = out / name
        shard = {"max_shard_size": "60KB"} if name == "qwen2" else {}
        model.save_pretrained(mdir, **shard)
        if name == "llama":
            old_style_config(mdir / "config.json")
        (mdir / "tokenizer.json").write_bytes((tok_dir / "tokenizer.json").read_bytes())
        template = "qwen3_chat_template.jinja" if name == "qwen3" else "qwen2_5_chat_template.jinja"
        write_tokenizer_config(mdir, template)
        (mdir / "reference.json").write_text(json.dumps(references(mdir, tok)))
    (out / "chat.json").write_text(json.dumps(chat_reference(out, tok), ensure_ascii=False))
    print(json.dumps({"ok": True, "vocab": vocab, "dirs": sorted(os.listdir(out))}))


if __name__ == "__main__":
    main()
