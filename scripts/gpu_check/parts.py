"""The parts of the GPU check. Each takes the Check (paths, settings, runner) and returns a dict of results, or
raises StepFailed; the driver (check.py) records either and goes on with the parts that do not need it."""
import hashlib
import json
import random
import select
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from report import decode_limit
from runner import StepFailed

NONDETERMINISTIC = " does not have a deterministic implementation"


def env(c):
    """Versions and the machine: transformers' side, libtorch as the binary sees it, the GPU through NVML."""
    hf = c.run(c.hf("info"), limit=120).last_json()
    doctor = c.run(c.webtape("doctor"), limit=60).stdout.strip()
    build = Path(c.bin).with_name("BUILD.json")
    return {**hf, **c.runner.nvml.describe(), "doctor": doctor, "binary_sees_cuda": "cuda available: true" in doctor,
            "binary": str(c.bin),
            "binary_bytes": Path(c.bin).stat().st_size,
            "build": json.loads(build.read_text()) if build.exists() else None}


def setup(c):
    """The sim world recorded into a snapshot (loopback), its questions, a BPE tokenizer trained on it, and the
    fixed token ids of the parity and throughput parts."""
    s = c.settings
    questions = c.run(c.webtape("sim", "questions", "--split", "train"), limit=60).stdout
    lines = questions.splitlines()[:s["record_questions"]]
    (c.work / "questions.jsonl").write_text("\n".join(lines) + "\n")
    queries = [q for line in lines for q in json.loads(line)["expert_queries"]]
    (c.work / "queries.txt").write_text("\n".join(queries) + "\n")
    record = record_sim(c)
    tok = c.work / "tokenizer"
    init = c.run(c.webtape("model", "init", "--snapshot", c.work / "snap", "--out", tok, "--vocab-size",
                           s["tokenizer_vocab"], "--hidden-size", 8, "--layers", 1, "--heads", 2, "--kv-heads", 1,
                           "--intermediate-size", 8, "--max-positions", 4096), limit=300)
    vocab = json.loads((tok / "tokenizer.json").read_text())
    size = 1 + max([*vocab["model"]["vocab"].values(), *(t["id"] for t in vocab.get("added_tokens", []))])
    rng = random.Random(s["seed"])
    draw = lambda n: [rng.randrange(3, size) for _ in range(n)]  # ids 0..2 are the special tokens
    (c.work / "parity_ids.json").write_text(json.dumps([draw(n) for n in s["parity_lengths"]]))
    t = s["throughput"]
    prompts = [draw(t["prompt_tokens"]) for _ in range(max(*t["batch_sizes"], t["sampled_batch"]))]
    (c.work / "prompts.json").write_text(json.dumps(prompts))
    return {"questions": len(lines), "queries": len(queries), "record": record, "tokenizer_tokens": size,
            "tokenizer": init.stdout.strip().splitlines()[-1]}


def record_sim(c):
    """`webtape sim serve` on loopback, recorded with `webtape record` (the Serper API), then stopped."""
    sim = subprocess.Popen([str(c.bin), "sim", "serve", "--port", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=c.runner.env, text=True)
    try:
        ready, _, _ = select.select([sim.stdout], [], [], 60)
        line = sim.stdout.readline() if ready else ""
        url = next((w for w in line.split() if w.startswith("http://")), None)
        if url is None:
            raise StepFailed(f"`webtape sim serve` printed no address within 60s: {line!r}")
        out = c.run(c.webtape("record", "--provider", "serper", "--endpoint", url, "--queries", c.work / "queries.txt",
                              "--snapshot", c.work / "snap", "--allow-private", "--rate", "none", "--host-rate",
                              "none", "--host-concurrency", 0, "--pages-per-query", 3, "--json"),
                    limit=180, env={"SERPER_API_KEY": "gpu-check"})
        return out.last_json()
    finally:
        sim.kill()
        sim.wait()


def checkpoint(c, preset, name):
    """A random-weight checkpoint of `preset` built by transformers from the seed."""
    out = c.work / name
    o = c.run(c.hf("build", "--preset", preset, "--tokenizer", c.work / "tokenizer", "--out", out, "--seed",
                   c.settings["seed"], "--dtype", c.settings["checkpoint_dtype"], "--device", c.device), limit=900)
    return {**o.last_json(), "process": o.figures()}


def policy_checkpoint(c):
    return checkpoint(c, c.settings["policy_preset"], "policy")


def large_checkpoint(c):
    return checkpoint(c, c.settings["large_preset"], "large")


def compare(a, b):
    import numpy as np
    diffs = [np.abs(a[k] - b[k]) for k in sorted(b)]
    agree = [(a[k].argmax(-1) == b[k].argmax(-1)) for k in sorted(b)]
    return {"max_abs_diff": float(max(d.max() for d in diffs)),
            "mean_abs_diff": float(sum(d.sum() for d in diffs) / sum(d.size for d in diffs)),
            "logit_scale": float(max(np.abs(b[k]).max() for k in b)),
            "argmax_agreement": float(sum(x.sum() for x in agree) / sum(x.size for x in agree))}


def parity(c):
    """Logits of the same token ids from our decoder and from transformers, in each dtype, on the check's device."""
    from safetensors.numpy import load_file
    ids, model, dtypes = c.work / "parity_ids.json", c.work / "policy", c.settings["parity_dtypes"]
    path = lambda side, dtype: c.work / f"logits-{side}-{dtype}.safetensors"
    c.run(c.hf("logits", "--model", model, "--ids", ids, "--out", c.work / "logits-transformers", "--device",
               c.device, "--dtypes", ",".join(dtypes)), limit=300)
    for dtype in dtypes:
        c.run(c.webtape("model", "logits", "--model", model, "--ids", ids, "--out", path("ours", dtype), "--device",
                        c.device, "--dtype", dtype), limit=300)
    logits = {(side, d): load_file(str(path(side, d))) for side in ("ours", "transformers") for d in dtypes}
    rows = [{"dtype": d, "compared": "ours vs transformers", **compare(logits["ours", d], logits["transformers", d])}
            for d in dtypes]
    for d in (d for d in dtypes if d != "f32" and "f32" in dtypes):
        for side in ("transformers", "ours"):
            row = compare(logits[side, d], logits["transformers", "f32"])
            rows.append({"dtype": d, "compared": f"{side} {d} vs transformers f32", **row})
    for file in c.work.glob("logits-*.safetensors"):
        file.unlink()
    lengths = [len(x) for x in json.loads(ids.read_text())]
    return {"sequences": len(lengths), "tokens": lengths, "rows": rows}


def agreement(a, b):
    """Mean share of each row's tokens before the first difference, and the share of rows alike throughout."""
    prefix = []
    for x, y in zip(a, b):
        n = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        prefix.append(n / max(len(x), 1))
    return sum(prefix) / len(prefix), sum(p == 1.0 for p in prefix) / len(prefix)


def throughput(c):
    """Tokens/s of fixed-length generation, ours and transformers `generate` on the same prompts, in one run."""
    t, model, prompts = c.settings["throughput"], c.work / "policy", c.work / "prompts.json"
    runs = {}
    for label, sizes, tokens, sample in (("greedy", t["batch_sizes"], t["new_tokens"], False),
                                         ("sampled", [t["sampled_batch"]], t["sampled_tokens"], True)):
        common = ["--model", model, "--prompts", prompts, "--batch-sizes", ",".join(map(str, sizes)), "--new-tokens",
                  tokens, "--device", c.device, "--dtype", t["dtype"]]
        ours, theirs = c.work / f"gen-ours-{label}.json", c.work / f"gen-hf-{label}.json"
        pick = ["--temperature", 1, "--top-p", 1] if sample else []
        runs[label, "ours"] = c.run(c.webtape("model", "bench-generate", *common, *pick, "--out", ours), limit=600)
        runs[label, "hf"] = c.run(c.hf("generate", *common, *(["--sample"] if sample else []), "--out", theirs),
                                  limit=600)
        runs[label] = (json.loads(ours.read_text())["runs"], json.loads(theirs.read_text())["runs"])
    shape = json.loads((model / "config.json").read_text())
    built = c.results.get("policy_checkpoint", {})
    rows = []
    for label in ("greedy", "sampled"):
        for o, h in zip(*runs[label]):
            limit = decode_limit(shape, built, t["dtype"], o["batch"], t["prompt_tokens"], o["new_tokens"],
                                 c.settings["bandwidth_tbs"])
            share, whole = agreement(o["tokens"], h["tokens"])
            rows.append({
                "picking": label, "batch": o["batch"], "new_tokens": o["new_tokens"],
                "ours_tokens_per_s": o["tokens_per_s"], "transformers_tokens_per_s": h["tokens_per_s"],
                "ours_seconds": o["seconds"], "transformers_seconds": h["seconds"],
                "ours_prefill_seconds": o["prefill_seconds"], "transformers_prefill_seconds": h["prefill_seconds"],
                "speedup": o["tokens_per_s"] / h["tokens_per_s"], **limit,
                "ours_share_of_limit": limit["limit_decode_seconds"] / max(o["seconds"] - o["prefill_seconds"], 1e-9),
                "transformers_share_of_limit":
                    limit["limit_decode_seconds"] / max(h["seconds"] - h["prefill_seconds"], 1e-9),
                "agreement": share if label == "greedy" else None,
                "rows_identical": whole if label == "greedy" else None,
            })
    process = {f"{label}_{side}": runs[label, side].figures() for label in ("greedy", "sampled")
               for side in ("ours", "hf")}
    return {"dtype": t["dtype"], "prompt_tokens": t["prompt_tokens"], "rows": rows, "process": process}


def grpo_config(c, name, model, lora):
    g, path = c.settings["grpo"], c.work / f"{name}.toml"
    top_k = f"top_k = {g['top_k']}\n" if g.get("top_k") else ""
    lora_section = f"[lora]\nrank = {lora['rank']}\nalpha = {lora['alpha']}\n" if lora else ""
    path.write_text(f"""run_dir = "{c.work / name}"
[model]
path = "{model}"
device = "{c.device}"
dtype = "{g['dtype']}"
[data]
train = "{c.work / 'questions.jsonl'}"
[env]
snapshot = "{c.work / 'snap'}"
[rollout]
max_turns = {g['max_turns']}
max_turn_tokens = {g['max_turn_tokens']}
max_response_tokens = {g['max_response_tokens']}
temperature = 1.0
{top_k}invalid_action = "feedback"
[grpo]
lr = {lora['lr'] if lora else g['lr']}
micro_batch = {lora.get('micro_batch', g['micro_batch']) if lora else g['micro_batch']}
entropy_coef = {g['entropy_coef']}
[train]
steps = 1
questions_per_step = {g['questions']}
samples_per_question = {g['samples']}
save_every = 1
seed = {c.settings['seed']}
{lora_section}""")
    return path


def file_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.safetensors")):
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()[:16]


def train_once(c, name, model, lora, mode):
    """One GRPO step (`webtape train`, replay) with libtorch's `--deterministic MODE`: its timing, memory,
    metrics and the digest of the weights (or adapter) it saved."""
    o = c.run(c.webtape("train", "--config", grpo_config(c, name, model, lora), "--deterministic", mode), limit=900)
    run = c.work / name
    metrics = (run / "metrics.jsonl").read_text()
    timing = json.loads((run / "timing.jsonl").read_text().splitlines()[-1])
    warned = Counter(line.split("Warning: ", 1)[-1].split(NONDETERMINISTIC)[0].strip()
                     for line in o.stderr.splitlines() if NONDETERMINISTIC in line)
    trainable = next((line for line in o.stdout.splitlines() if "trainable parameters" in line), None)
    digest = file_digest(run / "step-000001")
    if not c.keep_work:  # a full 0.5B step folder is gigabytes (weights and optimizer state); four of them add up
        shutil.rmtree(run / "step-000001", ignore_errors=True)
    return {"run": name, "deterministic": mode, "process": o.figures(), "metrics": json.loads(metrics),
            "metrics_text": metrics, "weights_digest": digest,
            "nondeterministic_ops": dict(warned), "lora": trainable, **{k: timing[k] for k in (
                "seconds", "generate_s", "tools_s", "train_s", "generated_tokens_per_s", "train_tokens_per_s")}}


def same(a, b):
    return a["metrics_text"] == b["metrics_text"] and a["weights_digest"] == b["weights_digest"]


def two_runs(c, label, model, lora):
    """Two runs of one step with the default kernels, the second asking libtorch to name the ops that are not
    deterministic. A second run that fails is recorded in the verdict; the first run's figures are kept."""
    a = train_once(c, f"{label}-a", model, lora, "off")
    runs, verdict = [a], {}
    try:
        b = train_once(c, f"{label}-b", model, lora, "warn")
        runs.append(b)
        verdict = {"default_kernels_identical": same(a, b), "nondeterministic_ops": b["nondeterministic_ops"]}
    except StepFailed as e:
        verdict = {"default_kernels_identical": None, "nondeterministic_ops": {}, "error": str(e)}
    for r in runs:
        r.pop("metrics_text")
    return {"settings": {**c.settings["grpo"], **({"lora": lora} if lora else {})}, "runs": runs,
            "determinism": verdict}


def grpo(c):
    return two_runs(c, "grpo-policy", c.work / "policy", None)


def lora(c):
    return two_runs(c, "grpo-large-lora", c.work / "large", c.settings["lora"])


def deterministic(c):
    """For each step whose two default-kernel runs differed (or every step, with `deterministic_runs: always`):
    two runs with `--deterministic on`, whether they agree and what the deterministic kernels cost. Run last, so
    that the steps' own figures come first when time is short."""
    out = {}
    steps = (("grpo", "grpo-policy", c.work / "policy", None), ("lora", "grpo-large-lora", c.work / "large",
                                                                 c.settings["lora"]))
    for part, label, model, lora in steps:
        first = c.results.get(part)
        if first is None:
            out[part] = {"status": "skipped", "reason": f"{part} did not pass"}
            continue
        if first["determinism"]["default_kernels_identical"] and c.settings["deterministic_runs"] != "always":
            out[part] = {"status": "not needed", "reason": "the default kernels gave identical runs"}
            continue
        needed = 2.2 * first["runs"][0]["process"]["seconds"]
        if c.runner.budget.left() < needed:
            out[part] = {"status": "skipped", "reason": f"no time left for two more runs (~{needed:.0f}s)"}
            continue
        try:
            on = [train_once(c, f"{label}-{x}", model, lora, "on") for x in ("c", "d")]
        except StepFailed as e:
            out[part] = {"status": "failed", "error": str(e)}
            continue
        identical = same(*on)
        for r in on:
            r.pop("metrics_text")
        cost = on[0]["seconds"] / first["runs"][0]["seconds"]
        out[part] = {"status": "ok", "identical": identical, "step_time_vs_default": cost, "runs": on}
    if any(x["status"] == "failed" for x in out.values()):
        raise StepFailed("; ".join(f"{k}: {x['error']}" for k, x in out.items() if x["status"] == "failed"))
    return out
