"""The transformers side of the GPU check (scripts/gpu_check.sh): every step runs in its own process, so its GPU
memory and failures stay its own. Prints one JSON line on stdout.

  hf.py info                                        versions, device name
  hf.py build --preset P --tokenizer DIR --out DIR  a random-weight checkpoint of preset P from --seed (CUDA or CPU)
  hf.py logits --model DIR --ids F --dtypes f32,bf16 --out PREFIX  logits of each id list alone, f32 tensors in
                                                    PREFIX-DTYPE.safetensors
  hf.py generate --model DIR --prompts F --batch-sizes 1,16 --new-tokens N --out F.json   timed `generate`
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, Qwen2Config

# Hugging Face's config.json of each model, minus what only loading the real weights needs. `vocab_size: None` takes
# the tokenizer's size (rounded up to 64) for the CPU dry run's tiny models.
PRESETS = {
    "qwen2.5-0.5b": dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=True),
    "qwen2.5-7b": dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                       tie_word_embeddings=False),
    "tiny": dict(vocab_size=None, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=True),
    "tiny-untied": dict(vocab_size=None, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                        tie_word_embeddings=False),
}
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "generation_config.json")


def emit(value):
    print(json.dumps(value), flush=True)


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def info(_args):
    cuda = torch.cuda.is_available()
    emit({
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "torch_cuda": torch.version.cuda, "cuda_available": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
        "cpu_count": os.cpu_count(), "torch_lib": str(Path(torch.__file__).parent / "lib"),
    })


def qwen2_config(preset: str, tokenizer_dir: Path):
    from tokenizers import Tokenizer

    shape = dict(PRESETS[preset])
    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    size = tok.get_vocab_size(with_added_tokens=True)
    if shape["vocab_size"] is None:
        shape["vocab_size"] = -(-size // 64) * 64
    if size > shape["vocab_size"]:
        sys.exit(f"the tokenizer has {size} tokens; preset {preset} has only {shape['vocab_size']} embedding rows")
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    if eot is None or im_end is None:
        sys.exit(f"{tokenizer_dir}/tokenizer.json lacks <|endoftext|> or <|im_end|>")
    common = dict(rms_norm_eps=1e-6, initializer_range=0.02, hidden_act="silu", use_sliding_window=False,
                  bos_token_id=eot, eos_token_id=im_end, pad_token_id=eot, attention_dropout=0.0)
    try:  # transformers 5 names RoPE settings rope_parameters; 4.x took rope_theta
        return Qwen2Config(rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **shape, **common)
    except TypeError:
        return Qwen2Config(rope_theta=1000000.0, **shape, **common)


def fingerprint(model) -> str:
    """sha256 over every tensor's name and first 1024 values: tells checkpoints drawn from other seeds apart."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().flatten()[:1024].float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


@torch.no_grad()
def build(args):
    started = time.time()
    config = qwen2_config(args.preset, args.tokenizer)
    dtype = DTYPES[args.dtype]
    torch.manual_seed(args.seed)
    with torch.device(args.device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype).eval()
    init_s = time.time() - started
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, max_shard_size="5GB")
    for name in TOKENIZER_FILES:
        if (args.tokenizer / name).exists():
            shutil.copyfile(args.tokenizer / name, args.out / name)
    params = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings().weight.numel()
    files = sorted(args.out.glob("*.safetensors"))
    emit({
        "out": str(args.out), "preset": args.preset, "seed": args.seed, "dtype": args.dtype, "device": args.device,
        "parameters": params, "embedding_parameters": emb, "tied": bool(config.tie_word_embeddings),
        "config": {k: getattr(config, k) for k in ("vocab_size", "hidden_size", "intermediate_size",
                                                   "num_hidden_layers", "num_attention_heads",
                                                   "num_key_value_heads")},
        "weights_bytes": sum(f.stat().st_size for f in files), "shards": len(files), "fingerprint": fingerprint(model),
        "init_seconds": init_s, "seconds": time.time() - started, "transformers": transformers.__version__,
    })


def load(model_dir: Path, dtype: str, device: str):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=DTYPES[dtype])
    return model.to(device).eval()


@torch.no_grad()
def logits(args):
    from safetensors.torch import save_file

    ids = json.loads(args.ids.read_text())
    summary = {"sequences": len(ids), "tokens": sum(len(r) for r in ids)}
    for dtype in args.dtypes:
        model = load(args.model, dtype, args.device)
        started = time.time()
        out = {f"logits.{i}": model(torch.tensor([row], device=args.device)).logits[0].float().cpu().contiguous()
               for i, row in enumerate(ids)}
        save_file(out, f"{args.out}-{dtype}.safetensors")
        summary[dtype] = {"seconds": time.time() - started,
                          "attention": getattr(model.config, "_attn_implementation", None)}
        del model
    emit(summary)


def timed_generate(model, prompts, new_tokens, device, sample):
    """One `generate` call, the device synchronised on both ends: (seconds, new token lists)."""
    ids = torch.tensor(prompts, device=device)
    picking = dict(do_sample=True, temperature=1.0, top_p=1.0, top_k=0) if sample else dict(do_sample=False)
    sync(device)
    started = time.time()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, eos_token_id=None,
                         pad_token_id=model.config.pad_token_id, **picking)
    sync(device)
    seconds = time.time() - started
    if out.shape[1] != ids.shape[1] + new_tokens:
        raise RuntimeError(f"generate returned {out.shape[1] - ids.shape[1]} new tokens, not {new_tokens}")
    return seconds, out[:, ids.shape[1]:].tolist()


@torch.no_grad()
def generate(args):
    prompts = json.loads(args.prompts.read_text())
    if max(args.batch_sizes) > len(prompts):
        sys.exit(f"batch size {max(args.batch_sizes)} needs that many prompts; {args.prompts} holds {len(prompts)}")
    model = load(args.model, args.dtype, args.device)
    torch.manual_seed(args.seed)
    runs = []
    for b in args.batch_sizes:
        batch = prompts[:b]
        if args.warmup_tokens > 0:
            timed_generate(model, batch, args.warmup_tokens, args.device, args.sample)
        prefill, _ = timed_generate(model, batch, 1, args.device, args.sample)
        seconds, tokens = timed_generate(model, batch, args.new_tokens, args.device, args.sample)
        runs.append({"batch": b, "new_tokens": args.new_tokens, "seconds": seconds, "prefill_seconds": prefill,
                     "tokens_per_s": b * args.new_tokens / seconds, "tokens": tokens})
        print(f"batch {b} × {args.new_tokens}: {seconds:.3f}s", file=sys.stderr, flush=True)
    args.out.write_text(json.dumps({"runs": runs, "attention": getattr(model.config, "_attn_implementation", None)}))
    emit({"runs": len(runs), "out": str(args.out)})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info")
    b = sub.add_parser("build")
    b.add_argument("--preset", choices=sorted(PRESETS), required=True)
    b.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json (webtape model init)")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    b.add_argument("--device", default="cpu")
    for name in ("logits", "generate"):
        s = sub.add_parser(name)
        s.add_argument("--model", type=Path, required=True)
        s.add_argument("--device", default="cpu")
        s.add_argument("--out", type=Path, required=True, help="logits: PREFIX of PREFIX-DTYPE.safetensors")
    lg = sub.choices["logits"]
    lg.add_argument("--ids", type=Path, required=True)
    lg.add_argument("--dtypes", type=lambda s: s.split(","), default=["f32"], help="comma-separated: f32,bf16")
    g = sub.choices["generate"]
    g.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    g.add_argument("--prompts", type=Path, required=True)
    g.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], required=True)
    g.add_argument("--new-tokens", type=int, required=True)
    g.add_argument("--warmup-tokens", type=int, default=8)
    g.add_argument("--sample", action="store_true", help="temperature 1, top-p 1, no top-k (default: greedy)")
    g.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    {"info": info, "build": build, "logits": logits, "generate": generate}[args.command](args)


if __name__ == "__main__":
    main()
