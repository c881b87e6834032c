"""Process-tree samplers of the benchmarks: peak RSS per agent (bench_arena.py) and peak
PSS/RSS per process and in total (bench_scale.py), each on a thread of its own."""

from __future__ import annotations

import abc
import threading
from pathlib import Path

import psutil

from data_flow.fsio import iter_jsonl


class ProcessSampler(abc.ABC):
    """A thread sampling the process tree under `root_pid` every `interval` seconds until
    `stop()`, or until `sample()` returns False (the root is gone)."""

    def __init__(self, root_pid: int, interval: float) -> None:
        self.root = psutil.Process(root_pid)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @abc.abstractmethod
    def sample(self) -> bool:
        """Take one sample; False ends the sampling."""

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.sample():
                return
            self._stop.wait(self.interval)


class RssSampler(ProcessSampler):
    """Peak RSS per agent process (keyed by signature), sampled with psutil."""

    def __init__(
        self, root_pid: int, data_root: Path | None = None, interval: float = 0.05
    ) -> None:
        super().__init__(root_pid, interval)
        self.data_root = data_root
        self.peak_mb: dict[str, float] = {}
        self.root_cpu_s = 0.0  # the orchestrator's own CPU (not its children's), last sample
        self._names: dict[int, str | None] = {}

    def _name(self, proc: psutil.Process) -> str | None:
        """The agent's signature, from its manifest's run_start pid (agents forked by a fork
        server all show the fork server's environment in /proc)."""
        if proc.pid not in self._names and self.data_root is not None:
            for manifest in self.data_root.glob("agent_data/*/manifest.jsonl"):
                starts = [m for m in iter_jsonl(manifest) if m.get("type") == "run_start"]
                if starts and starts[-1].get("pid") == proc.pid:
                    self._names[proc.pid] = manifest.parent.name
        return self._names.get(proc.pid)

    def sample(self) -> bool:
        try:
            children = self.root.children(recursive=True)
            times = self.root.cpu_times()
            self.root_cpu_s = times.user + times.system
        except psutil.Error:
            return False
        for child in children:
            try:
                name = self._name(child)
                if name:
                    rss = child.memory_info().rss / 2**20
                    self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), rss)
            except psutil.Error:
                continue
        return True


class PssSampler(ProcessSampler):
    """Peak PSS/RSS per process under `root_pid` (smaps_rollup), and the peak of their sum."""

    def __init__(self, root_pid: int, interval: float) -> None:
        super().__init__(root_pid, interval)
        self.peak_pss: dict[int, float] = {}
        self.peak_rss: dict[int, float] = {}
        self.peak_total_pss = 0.0
        self.peak_total_rss = 0.0

    @staticmethod
    def _rollup(pid: int) -> tuple[float, float] | None:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            return None
        values = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
                values[parts[0]] = int(parts[1]) / 1024.0
        return values.get("Pss:", 0.0), values.get("Rss:", 0.0)

    def sample(self) -> bool:
        try:
            pids = [self.root.pid] + [c.pid for c in self.root.children(recursive=True)]
        except psutil.Error:
            return False
        total_pss = total_rss = 0.0
        for pid in pids:
            got = self._rollup(pid)
            if got is None:
                continue
            pss, rss = got
            total_pss += pss
            total_rss += rss
            self.peak_pss[pid] = max(self.peak_pss.get(pid, 0.0), pss)
            self.peak_rss[pid] = max(self.peak_rss.get(pid, 0.0), rss)
        self.peak_total_pss = max(self.peak_total_pss, total_pss)
        self.peak_total_rss = max(self.peak_total_rss, total_rss)
        return True
