"""Reference throughput of Hugging Face transformers on a checkpoint: batched `generate` and prefill.

Usage: hf_generate.py MODEL_DIR PROMPT_LEN NEW_TOKENS BATCH [BATCH...]
Prints one JSON object: {"generate": {batch: tokens_per_s}, "prefill": {batch: tokens_per_s}, versions}.
Sampling (temperature 0.7, top_p 0.95), every sequence forced to NEW_TOKENS new tokens, CPU, float32,
intra-op threads from WEBTAPE_BENCH_THREADS (default: torch's own choice). The best of 3 runs after a warm-up is reported.
"""
import json
import os
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM


def best_of(n, fn):
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@torch.no_grad()
def main():
    if os.environ.get("WEBTAPE_BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["WEBTAPE_BENCH_THREADS"]))
    model_dir, prompt_len, new_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batches = [int(b) for b in sys.argv[4:]]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    gen, pre = {}, {}
    for b in batches:
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(10, vocab, (b, prompt_len), generator=g)
        mask = torch.ones_like(ids)

        def run():
            torch.manual_seed(0)
            model.generate(ids, attention_mask=mask, do_sample=True, temperature=0.7, top_p=0.95, top_k=0,
                           max_new_tokens=new_tokens, min_new_tokens=new_tokens, eos_token_id=None,
                           pad_token_id=0)

        gen[b] = b * new_tokens / best_of(3, run)
        pre[b] = b * prompt_len / best_of(3, lambda: model(ids, attention_mask=mask))
    print(json.dumps({"generate": gen, "prefill": pre, "transformers": transformers.__version__,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
