"""The GPU check's driver (run it through scripts/gpu_check.sh): runs the parts in order within a time budget,
each in its own processes; a part that fails is recorded with its error and the parts that do not need it still
run. gpu_check.json and gpu_check.md are rewritten after every part, so even a check killed midway leaves what
it measured. Exit status 0 when every part passed, 1 otherwise."""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import parts
import report
from runner import Budget, Runner, StepFailed

HERE = Path(__file__).resolve().parent

GPU = {
    "seed": 0, "record_questions": 64, "tokenizer_vocab": 4096,
    "policy_preset": "qwen2.5-0.5b", "large_preset": "qwen2.5-7b", "checkpoint_dtype": "bf16",
    "parity_dtypes": ["f32", "bf16"], "parity_lengths": [8, 64, 256],
    "throughput": {"dtype": "bf16", "batch_sizes": [1, 16, 64, 256], "new_tokens": 256, "prompt_tokens": 128,
                   "sampled_batch": 64, "sampled_tokens": 32},
    # Rollouts sample with top_k 50: with none, each decode step copies batch × vocab log-probs to the host and
    # draws there (the throughput part's sampled row measures what that costs).
    "grpo": {"dtype": "bf16", "questions": 8, "samples": 8, "max_turns": 2, "max_turn_tokens": 256,
             "max_response_tokens": 1024, "top_k": 50, "lr": 1e-6, "micro_batch": 8, "entropy_coef": 0.001},
    # A 7B step keeps a micro-batch's activations through all 28 layers for the adapters' gradients: 4 sequences.
    "lora": {"rank": 16, "alpha": 32, "lr": 1e-5, "micro_batch": 4},
    # After the steps: two runs with deterministic kernels of each step whose default runs differ (`always`: of each).
    "deterministic_runs": "if-differ",
    "bandwidth_tbs": 4.3, "budget_s": 345,
}
# The CPU dry run: the same steps on tiny models, so that `make test` keeps the check from rotting.
CPU = {
    **GPU, "record_questions": 16, "policy_preset": "tiny", "large_preset": "tiny-untied", "checkpoint_dtype": "f32",
    "parity_lengths": [5, 17],
    "throughput": {"dtype": "f32", "batch_sizes": [1, 4], "new_tokens": 8, "prompt_tokens": 12, "sampled_batch": 4,
                   "sampled_tokens": 4},
    "grpo": {**GPU["grpo"], "dtype": "f32", "questions": 2, "samples": 2, "max_turn_tokens": 12,
             "max_response_tokens": 64, "micro_batch": 2},
    "lora": {**GPU["lora"], "micro_batch": 2},
    "budget_s": 900,
}
# name → (function, the parts it needs)
PARTS = {
    "env": (parts.env, []),
    "setup": (parts.setup, []),
    "policy_checkpoint": (parts.policy_checkpoint, ["setup"]),
    "parity": (parts.parity, ["policy_checkpoint"]),
    "throughput": (parts.throughput, ["policy_checkpoint"]),
    "grpo": (parts.grpo, ["policy_checkpoint"]),
    "large_checkpoint": (parts.large_checkpoint, ["setup"]),
    "lora": (parts.lora, ["large_checkpoint"]),
    "deterministic": (parts.deterministic, []),
}


class Check:
    """What every part needs: the binary, the Python running transformers, the work folder, settings, results."""

    def __init__(self, args, settings, runner, work):
        self.bin, self.python, self.device = Path(args.bin).resolve(), args.python, args.device
        self.settings, self.runner, self.work, self.keep_work = settings, runner, work, args.keep_work
        self.results = {}

    def webtape(self, *args):
        return [self.bin, *args]

    def hf(self, *args):
        return [self.python, HERE / "hf.py", *args]

    def run(self, cmd, **kw):
        return self.runner.run(cmd, **kw)


def selected(names):
    """`names` and everything they need, in the check's order."""
    want, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name not in PARTS:
            sys.exit(f"unknown part {name!r}; parts: {', '.join(PARTS)}")
        if name not in want:
            want.add(name)
            stack.extend(PARTS[name][1])
    return [n for n in PARTS if n in want]


def write(out: Path, doc: dict):
    (out / "gpu_check.json").write_text(json.dumps(doc, indent=1) + "\n")
    try:
        text = report.markdown(doc)
    except Exception:  # a rendering bug must not cost the measurements: the JSON is already written
        text = f"# webtape GPU check\n\nThe table could not be rendered:\n```\n{traceback.format_exc()}```\n"
    (out / "gpu_check.md").write_text(text)


def run_part(check, name, doc):
    func, needs = PARTS[name]
    missing = [n for n in needs if doc["parts"].get(n, {}).get("status") != "ok"]
    if missing:
        return {"status": "skipped", "reason": f"needs {', '.join(missing)}, which did not pass"}
    if check.runner.budget.left() < 10:
        return {"status": "skipped", "reason": f"the {check.runner.budget.total:.0f}s time budget is spent"}
    started = time.monotonic()
    print(f"[{time.monotonic() - doc['_t0']:6.1f}s] {name} …", file=sys.stderr, flush=True)
    try:
        result = func(check)
        check.results[name] = result
        return {"status": "ok", "seconds": time.monotonic() - started, "result": result}
    except StepFailed as e:
        return {"status": "failed", "seconds": time.monotonic() - started, "error": str(e)}
    except Exception:  # the check's own bug: recorded like a failure, the other parts still run
        return {"status": "failed", "seconds": time.monotonic() - started, "error": traceback.format_exc()}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out", type=Path, help="folder for gpu_check.json, gpu_check.md and gpu_check.log")
    p.add_argument("--bin", required=True, help="the webtape binary")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: the dry run on tiny models")
    p.add_argument("--python", default=sys.executable, help="the Python with torch and transformers")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    p.add_argument("--budget-s", type=float, help="wall-clock allowance (default 345 on CUDA, 900 on the CPU)")
    p.add_argument("--work", type=Path, help="scratch folder (default: a new one under $TMPDIR, removed after)")
    p.add_argument("--keep-work", action="store_true", help="keep the scratch folder (checkpoints, runs)")
    p.add_argument("--lora-rank", type=int, help="LoRA rank of the lora part (default 16)")
    p.add_argument("--bandwidth-tbs", type=float, help="memory bandwidth for the decode limit (default 4.3)")
    p.add_argument("--deterministic-runs", choices=["if-differ", "always"],
                   help="when the deterministic part runs each step twice with deterministic kernels (default: "
                        "if its two default runs differ)")
    args = p.parse_args()
    settings = json.loads(json.dumps(GPU if args.device == "cuda" else CPU))
    if args.lora_rank is not None:
        settings["lora"]["rank"] = args.lora_rank
    settings["bandwidth_tbs"] = args.bandwidth_tbs or settings["bandwidth_tbs"]
    settings["deterministic_runs"] = args.deterministic_runs or settings["deterministic_runs"]
    settings["budget_s"] = args.budget_s or settings["budget_s"]
    names = selected([n.strip() for n in args.parts.split(",") if n.strip()])
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="webtape-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    log = args.out / "gpu_check.log"
    log.write_text("")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TOKENIZERS_PARALLELISM": "false"}
    runner = Runner(Budget(settings["budget_s"]), log, work, env)
    check = Check(args, settings, runner, work)
    doc = {"format": 1, "mode": "gpu" if args.device == "cuda" else "cpu dry run", "device": args.device,
           "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "seconds": 0.0, "budget_s": settings["budget_s"], "settings": settings, "machine": {}, "parts": {},
           "ok": False, "_t0": time.monotonic()}
    try:
        for name in names:
            doc["parts"][name] = run_part(check, name, doc)
            if name == "env" and doc["parts"][name]["status"] == "ok":
                doc["machine"] = doc["parts"][name]["result"]
            doc["seconds"] = time.monotonic() - doc["_t0"]
            doc["ok"] = all(x["status"] == "ok" for x in doc["parts"].values())
            write(args.out, {k: v for k, v in doc.items() if k != "_t0"})
            print(f"[{doc['seconds']:6.1f}s] {name}: {doc['parts'][name]['status']}", file=sys.stderr, flush=True)
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    print((args.out / "gpu_check.md").read_text())
    return 0 if doc["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
