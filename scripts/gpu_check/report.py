"""The GPU check's arithmetic and its markdown: the decode limit that memory bandwidth sets, and the tables of
gpu_check.md rendered from gpu_check.json (so the JSON is the one source of every figure)."""

BYTES = {"bf16": 2, "f16": 2, "f32": 4}


def decode_limit(config: dict, built: dict, dtype: str, batch: int, prompt: int, new_tokens: int, tbs: float) -> dict:
    """Fastest possible decode of `new_tokens` tokens for `batch` prompts of `prompt` tokens: each decode step must
    read every weight once (the embedding table only where the LM head is tied to it: untied, a step reads just
    `batch` rows of it) plus the KV cache so far, at `tbs` TB/s. The first token comes from the prefill, so
    `new_tokens - 1` decode steps."""
    size = BYTES[dtype]
    params = built["parameters"] - (0 if built["tied"] else built["embedding_parameters"])
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    kv_per_token = config["num_hidden_layers"] * 2 * config["num_key_value_heads"] * head_dim * size
    steps = new_tokens - 1
    kv_bytes = batch * kv_per_token * sum(prompt + s for s in range(1, new_tokens))
    seconds = (steps * params * size + kv_bytes) / (tbs * 1e12)
    return {"weight_bytes_per_step": params * size, "kv_bytes_last_step": batch * kv_per_token * (prompt + steps),
            "limit_decode_seconds": seconds, "limit_decode_tokens_per_s": batch * steps / seconds if seconds else None}


def num(x, digits=3):
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(r: dict) -> str:
    m = r.get("machine") or {}
    out = [f"# webtape GPU check: {r['mode']}\n",
           f"{r['started_at']}, {m.get('gpu') or 'no GPU'} (driver {m.get('driver', '–')}), torch "
           f"{m.get('torch', '–')}, transformers {m.get('transformers', '–')}, Python {m.get('python', '–')}; "
           f"binary {m.get('binary_bytes', 0) / 2**20:.1f} MiB, its libtorch sees CUDA: "
           f"{num(m.get('binary_sees_cuda'))}; "
           f"{r['seconds']:.0f} s of a {r['budget_s']:.0f} s budget.\n"]
    out.append(table(["part", "status", "seconds", "note"], [
        [name, p["status"], num(p.get("seconds")), (p.get("error") or p.get("reason") or "").splitlines()[0][:150]
         if p.get("error") or p.get("reason") else ""] for name, p in r["parts"].items()]))
    renders = (("parity", parity), ("throughput", throughput), ("grpo", grpo), ("lora", grpo),
               ("deterministic", deterministic))
    for name, render in renders:
        part = r["parts"].get(name, {})
        if part.get("status") == "ok":
            out.append(render(name, part["result"], r))
    errors = [(n, p["error"]) for n, p in r["parts"].items() if p.get("error")]
    if errors:
        out.append("## Errors\n\n" + "\n".join(f"**{n}**:\n```\n{e}\n```" for n, e in errors) + "\n")
    return "\n".join(out)


def parity(_name, p, _r):
    return "## Parity: logits of our decoder vs transformers\n\n" + table(
        ["dtype", "compared", "max abs diff", "mean abs diff", "max abs logit", "argmax agreement"],
        [[x["dtype"], x["compared"], num(x["max_abs_diff"]), num(x["mean_abs_diff"]), num(x["logit_scale"]),
          num(x["argmax_agreement"])] for x in p["rows"]]) + f"\n{p['sequences']} sequences of {p['tokens']} tokens.\n"


def throughput(_name, p, r):
    tbs = r["settings"]["bandwidth_tbs"]
    head = ["picking", "batch × new", "ours tok/s", "transformers tok/s", "ours / transformers",
            f"decode limit tok/s ({tbs} TB/s)", "ours % of limit", "transformers % of limit", "greedy agreement"]
    rows = [[x["picking"], f"{x['batch']} × {x['new_tokens']}", num(x["ours_tokens_per_s"]),
             num(x["transformers_tokens_per_s"]), num(x["speedup"]), num(x["limit_decode_tokens_per_s"]),
             num(100 * x["ours_share_of_limit"], 2), num(100 * x["transformers_share_of_limit"], 2),
             "–" if x["agreement"] is None
             else f"{100 * x['agreement']:.0f} % ({100 * x['rows_identical']:.0f} % of rows whole)"]
            for x in p["rows"]]
    return (f"## Generation throughput ({p['dtype']}, prompts of {p['prompt_tokens']} tokens)\n\n" + table(head, rows)
            + "\nTokens/s = batch × new tokens ÷ the whole call; % of limit = the bandwidth-bound decode time ÷ the "
              "measured decode time (the call less a one-token call). Sampled rows: temperature 1, top-p 1.\n")


STEP_HEADER = ["run", "kernels", "step s", "generation s", "tools s", "update s", "process s", "peak GPU GiB",
               "peak RSS GiB", "response tokens", "loss", "grad norm", "weights digest"]


def step_rows(runs):
    return [[x["run"], x["deterministic"], num(x["seconds"]), num(x["generate_s"]), num(x["tools_s"]),
             num(x["train_s"]), num(x["process"]["seconds"]), num(x["process"]["peak_gpu_gib"]),
             num(x["process"]["peak_rss_gib"]), num(x["metrics"]["response_tokens"]), num(x["metrics"]["loss"], 6),
             num(x["metrics"]["grad_norm"], 6), x["weights_digest"]] for x in runs]


def grpo(name, p, r):
    s = p["settings"]
    what = (f"LoRA rank {s['lora']['rank']} on {r['settings']['large_preset']}" if "lora" in s
            else f"every weight of {r['settings']['policy_preset']}")
    rows = step_rows(p["runs"])
    d = p["determinism"]
    ops = ", ".join(f"`{k}` ×{v}" for k, v in sorted(d["nondeterministic_ops"].items())) or "none"
    same = d["default_kernels_identical"]
    if same is None:
        verdict = f"The second run failed, so determinism is unknown: {d.get('error', '').splitlines()[0]}"
    else:
        verdict = (f"Default kernels: two runs {'gave identical' if same else 'DIFFERED in'} metrics and weights. "
                   f"Ops libtorch names as not deterministic (`--deterministic warn`): {ops}.")
    return (f"## GRPO step ({name}): {s['questions']} questions × {s['samples']} rollouts, {what}, replay\n\n"
            + table(STEP_HEADER, rows)
            + f"\n{verdict}\n")


def deterministic(_name, p, _r):
    lines, runs = [], []
    for step, x in p.items():
        if x["status"] == "ok":
            lines.append(f"- {step}: two runs with `--deterministic on` {'agree' if x['identical'] else 'STILL DIFFER'}"
                         f"; step time ×{x['step_time_vs_default']:.2f} of the default kernels'.")
            runs += x["runs"]
        else:
            lines.append(f"- {step}: {x['status']} ({x.get('reason') or x.get('error', '')})")
    out = "## Deterministic kernels (`webtape train --deterministic on`)\n\n" + "\n".join(lines) + "\n"
    return out + ("\n" + table(STEP_HEADER, step_rows(runs)) if runs else "")
