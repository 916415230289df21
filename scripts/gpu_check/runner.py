"""Running the GPU check's steps: each command in its own process group with a time limit taken from the check's
overall budget, its peak GPU memory sampled through NVML (device-wide used memory minus what was used before it
started: the check runs one step at a time, so that is the step's own footprint, CUDA context and allocator cache
included) and its peak RSS from wait4; output kept in files and the tail logged."""
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_S = 0.05  # NVML sampling period; the caching allocators never give memory back, so plateaus are caught


class StepFailed(Exception):
    """A step of the check failed; the message says what and ends with the command's last output lines."""


class Budget:
    """The check's wall-clock allowance: every command's time limit is what is left of it, less a reserve for
    writing the results."""

    def __init__(self, seconds: float, reserve: float = 5.0):
        self.deadline = time.monotonic() + seconds
        self.reserve = reserve
        self.total = seconds

    def left(self) -> float:
        return self.deadline - time.monotonic() - self.reserve


class Nvml:
    """Used memory of GPU 0 through libnvidia-ml (ctypes; nothing to install). `ok` is False where there is none."""

    class _Memory(ctypes.Structure):
        _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]

    def __init__(self):
        self.ok, self.why = False, "no NVML"
        try:
            self.lib = ctypes.CDLL("libnvidia-ml.so.1")
            if self.lib.nvmlInit_v2() != 0:
                raise OSError("nvmlInit_v2 failed")
            self.handle = ctypes.c_void_p()
            if self.lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(self.handle)) != 0:
                raise OSError("no GPU 0")
            self.ok = True
        except (OSError, AttributeError) as e:
            self.why = f"NVML unavailable ({e})"

    def used(self):
        """Bytes in use on GPU 0, or None."""
        if not self.ok:
            return None
        mem = Nvml._Memory()
        if self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(mem)) != 0:
            return None
        return mem.used

    def describe(self) -> dict:
        if not self.ok:
            return {"nvml": self.why}
        name = ctypes.create_string_buffer(96)
        self.lib.nvmlDeviceGetName(self.handle, name, 96)
        driver = ctypes.create_string_buffer(96)
        self.lib.nvmlSystemGetDriverVersion(driver, 96)
        mem = Nvml._Memory()
        self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(mem))
        return {"gpu": name.value.decode(), "driver": driver.value.decode(),
                "gpu_memory_gib": round(mem.total / 2**30, 1), "gpu_used_at_start_gib": round(mem.used / 2**30, 2)}


@dataclass
class Outcome:
    """What one command did."""
    cmd: list
    rc: int
    seconds: float
    stdout: str
    stderr: str
    timed_out: bool
    peak_gpu_gib: float = None
    peak_rss_gib: float = None
    extra: dict = field(default_factory=dict)

    def tail(self, lines: int = 25) -> str:
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])

    def last_json(self):
        """The last stdout line that parses as JSON (the steps print one), or None."""
        import json
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return None

    def figures(self) -> dict:
        return {"seconds": round(self.seconds, 2), "peak_gpu_gib": self.peak_gpu_gib, "peak_rss_gib": self.peak_rss_gib}


class Runner:
    """Runs the check's commands one at a time inside `budget`, logging each to `log`."""

    def __init__(self, budget: Budget, log: Path, work: Path, env: dict):
        self.budget, self.log, self.work, self.env = budget, log, work, env
        self.nvml = Nvml()
        self.count = 0

    def run(self, cmd, *, limit: float = None, env: dict = None, check: bool = True) -> Outcome:
        """Runs `cmd`; with `check`, a non-zero exit or a timeout raises StepFailed naming it."""
        cmd = [str(c) for c in cmd]
        allowed = self.budget.left() if limit is None else min(limit, self.budget.left())
        if allowed <= 1:
            raise StepFailed(f"no time left in the check's budget ({self.budget.total:.0f}s) for: {cmd[0]} {cmd[1]}")
        self.count += 1
        out_path, err_path = self.work / f"cmd{self.count}.out", self.work / f"cmd{self.count}.err"
        outcome = self._wait(cmd, allowed, out_path, err_path, {**self.env, **(env or {})})
        self._log(outcome)
        if check and (outcome.rc != 0 or outcome.timed_out):
            why = f"timed out after {allowed:.0f}s" if outcome.timed_out else f"exit status {outcome.rc}"
            raise StepFailed(f"`{' '.join(cmd[:4])} …` failed ({why}):\n{outcome.tail()}")
        return outcome

    def _wait(self, cmd, allowed, out_path, err_path, env) -> Outcome:
        base = self.nvml.used()
        peak = base
        started = time.monotonic()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True)
            timed_out, status, usage = False, None, None
            while status is None:
                pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    status, usage = st, ru
                    break
                used = self.nvml.used()
                if used is not None:
                    peak = max(peak, used)
                if time.monotonic() - started > allowed and not timed_out:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                time.sleep(SAMPLE_S)
            proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        gib = lambda b: round(b / 2**30, 2)
        return Outcome(
            cmd=cmd, rc=proc.returncode, seconds=seconds, timed_out=timed_out,
            stdout=out_path.read_text(errors="replace"), stderr=err_path.read_text(errors="replace"),
            peak_gpu_gib=gib(peak - base) if base is not None else None,
            peak_rss_gib=gib(usage.ru_maxrss * 1024) if usage else None,
        )

    def _log(self, o: Outcome):
        with open(self.log, "a") as f:
            f.write(f"\n$ {' '.join(o.cmd)}\n# exit {o.rc}{' (timed out)' if o.timed_out else ''}, "
                    f"{o.seconds:.1f}s, peak GPU {o.peak_gpu_gib} GiB, peak RSS {o.peak_rss_gib} GiB\n")
            for name, text in (("stdout", o.stdout), ("stderr", o.stderr)):
                lines = text.splitlines()
                if len(lines) > 60:
                    f.write(f"# {name}: {len(lines) - 60} earlier lines left out\n")
                f.write("".join(f"{name}| {line}\n" for line in lines[-60:]))
