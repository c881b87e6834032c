"""Scale benchmark (issue 11, section 1): the arena on one machine, many agents.

    .venv/bin/python bench/bench_scale.py [--agents 100] [--json FILE] [--keep]

Every agent is an OpenAI-provider agent talking real HTTP, through the openai SDK, to the fake
server (tests/fake_llm_server.py, rule `price_trade`: get_stock_price twice, one BUY, a final
answer — 4 instant model calls per window), on the synthetic demo market (no sample data
needed), replay mode, via the real `python main.py` (orchestrator + one process per agent).
Runs, each on its own data root:
- solo (5 times): 1 agent × 1 day; snapshots already built, the agent's records removed before
  each run: orchestrator start → first agent spawned, agent spawn → first model request;
- crowd: `--agents` agents × 5 days × 3 windows, 10 STAR symbols: wall time, spawn → first
  model request per agent, peak PSS per agent (`/proc/<pid>/smaps_rollup`, sampled) and the
  peak sum over all arena processes (orchestrator, helpers, agents);
- universe: 10 agents × 10 days × 3 windows with 10 and with 50 STAR symbols: agent loop CPU per
  window (the agent's CPU from its first window to its `run_end`, `loop_cpu_seconds`), the
  prefetcher's build time per snapshot, and the time an agent spends getting each window's
  snapshot (waiting for the prefetcher included).
Prints the issue's table (today / target / measured) with PASS/FAIL per row. The machine is
shared: the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_arena import FAKE_KEY, KEY_ENV, start_fake_server  # noqa: E402
from samplers import PssSampler  # noqa: E402

from data_flow.calendar import trading_days  # noqa: E402
from data_flow.fsio import iter_jsonl  # noqa: E402

LAST_DAY = date(2025, 12, 31)
STAR10 = json.loads((ROOT / "settings" / "default_config.json").read_text())["symbols"]
STAR50 = STAR10 + [f"SH688{n:03d}" for n in range(1, 200) if f"SH688{n:03d}" not in STAR10][:40]

# (row, today, target text, target value, unit); lower is better for every row
ROWS = [
    ("spawn_first_request_solo_s", "0.53-0.77 s", "<= 0.3 s", 0.3, "s"),
    ("spawn_first_request_crowd_median_s", "27 s (100 agents)", "<= 5 s", 5.0, "s"),
    ("orchestrator_to_first_spawn_s", "0.7-1.2 s", "<= 0.3 s", 0.3, "s"),
    ("pss_per_agent_mb", "~57 MB RSS", "<= 30 MB PSS", 30.0, "MB"),
    ("pss_total_gb", "5.8 GB (100 agents)", "<= 3 GB", 3.0, "GB"),
    ("crowd_wall_s", "45 s (100x5x3)", "<= 15 s", 15.0, "s"),
    ("loop_cpu_ms_per_window", "8-10 ms", "<= 5 ms", 5.0, "ms"),
    ("agent_cpu_ratio_50_vs_10", "1.4x", "<= 1.3x", 1.3, "x"),
    ("snapshot_build_ratio_50_vs_10", "3.7x", "(report)", None, "x"),
    ("snapshot_wait_ms_per_window_50", "159 ms", "no wait (<= 10 ms)", 10.0, "ms"),
]


def build_config(
    path: Path, n_agents: int, days: list[date], symbols: list[str], base_url: str
) -> Path:
    config = json.loads((ROOT / "settings" / "default_config.json").read_text(encoding="utf-8"))
    config.update(
        description=f"scale benchmark: {n_agents} agents, {len(symbols)} symbols",
        date_range={"init_date": days[0].isoformat(), "end_date": days[-1].isoformat()},
        symbols=symbols,
        models=[
            {
                "signature": f"bench-{i:03d}",
                "provider": "openai",
                "basemodel": f"bench-model-{i:03d}",
                "base_url": base_url,
                "api_key_env": KEY_ENV,
                "parameters": {"temperature": 0.0},
            }
            for i in range(1, n_agents + 1)
        ],
    )
    config["agent_config"].update(max_retries=1, base_delay=0.05, timeout_seconds=30)
    config["log_config"] = {"data_root": str(path.parent / f"{path.stem}_data")}
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def agent_numbers(data_root: Path, signature: str) -> dict[str, Any]:
    """From an agent's records: pid, spawn time, first model request time, CPU and timings."""
    agent_dir = data_root / "agent_data" / signature
    starts = [m for m in iter_jsonl(agent_dir / "manifest.jsonl") if m.get("type") == "run_start"]
    ends = [m for m in iter_jsonl(agent_dir / "manifest.jsonl") if m.get("type") == "run_end"]
    start, end = (starts[-1] if starts else {}), (ends[-1] if ends else {})
    first_request = None
    for log_file in sorted((agent_dir / "log").glob("*/*.jsonl")):
        for ev in iter_jsonl(log_file):
            if ev.get("type") == "model_call":
                first_request = _ts(ev["ts_recorded"]) - float(ev.get("elapsed_ms") or 0) / 1e3
                break
        if first_request is not None:
            break
    spawn = end.get("spawn_time")
    return {
        "pid": start.get("pid"),
        "status": end.get("status"),
        "spawn_time": None if spawn is None else float(spawn),
        "first_request": first_request,
        "windows_run": int(end.get("windows_run") or 0),
        "loop_cpu_s": end.get("loop_cpu_seconds"),
        "snapshot_s": float(end.get("snapshot_seconds") or 0.0),
    }


def run_main(
    config: Path, env: dict[str, str], *, sample_interval: float | None = None
) -> dict[str, Any]:
    """Run `main.py config --no-backup`; wall time, output, and per-agent numbers."""
    started = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), str(config), "--no-backup"],
        env=env,
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = PssSampler(proc.pid, sample_interval) if sample_interval else None
    if sampler is not None:
        sampler.start()
    output, _ = proc.communicate(timeout=900)
    wall = time.perf_counter() - t0
    if sampler is not None:
        sampler.stop()
    data = json.loads(config.read_text())
    data_root = Path(data["log_config"]["data_root"])
    agents = {m["signature"]: agent_numbers(data_root, m["signature"]) for m in data["models"]}
    prefetch = (0, 0.0)
    for line in output.splitlines():
        if line.startswith("snapshots built by the prefetcher:"):
            count, rest = line.split(":", 1)[1].split(" ", 2)[1:]
            prefetch = (int(count), float(rest.strip("( s)")))
    if proc.returncode != 0:
        print(output[-3000:])
    return {
        "exit_code": proc.returncode,
        "started": started,
        "wall_s": wall,
        "agents": agents,
        "prefetch_built": prefetch[0],
        "prefetch_s": prefetch[1],
        "sampler": sampler,
        "data_root": data_root,
    }


def solo_runs(workdir: Path, env: dict[str, str], base_url: str, days: list[date], n: int):
    config = build_config(workdir / "solo.json", 1, days[-1:], STAR10, base_url)
    run_main(config, env)  # builds the snapshots (and warms the disk cache)
    first, orch = [], []
    data_root = workdir / "solo_data"
    for _ in range(n):
        shutil.rmtree(data_root / "agent_data" / "bench-001", ignore_errors=True)
        r = run_main(config, env)
        a = r["agents"]["bench-001"]
        if a["spawn_time"] is not None and a["first_request"] is not None:
            first.append(a["first_request"] - a["spawn_time"])
            orch.append(a["spawn_time"] - r["started"])
    return first, orch


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    days = trading_days(date(2025, 11, 1), LAST_DAY)
    server, base_url = start_fake_server(workdir, rule="price_trade")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("ONLY_SIGNATURE", None)
    env.update({KEY_ENV: FAKE_KEY, "RUNTIME_DIR": str(workdir / "runtime")})
    out: dict[str, Any] = {}
    try:
        print("solo runs ...", flush=True)
        first, orch = solo_runs(workdir, env, base_url, days, args.solo_runs)
        out["spawn_first_request_solo_all"] = [round(x, 3) for x in first]
        out["orchestrator_to_first_spawn_all"] = [round(x, 3) for x in orch]
        out["spawn_first_request_solo_s"] = statistics.median(first)
        out["orchestrator_to_first_spawn_s"] = statistics.median(orch)

        print(f"crowd: {args.agents} agents x 5 days x 3 windows ...", flush=True)
        config = build_config(workdir / "crowd.json", args.agents, days[-5:], STAR10, base_url)
        r = run_main(config, env, sample_interval=0.25)
        agents = r["agents"]
        sampler: PssSampler = r["sampler"]
        by_pid = {a["pid"]: s for s, a in agents.items()}
        pss = [v for pid, v in sampler.peak_pss.items() if pid in by_pid]
        rss = [v for pid, v in sampler.peak_rss.items() if pid in by_pid]
        firsts = [
            a["first_request"] - a["spawn_time"]
            for a in agents.values()
            if a["first_request"] is not None and a["spawn_time"] is not None
        ]
        out.update(
            crowd_exit_code=r["exit_code"],
            crowd_statuses=sorted({str(a["status"]) for a in agents.values()}),
            crowd_wall_s=r["wall_s"],
            crowd_windows=sum(a["windows_run"] for a in agents.values()),
            spawn_first_request_crowd_median_s=statistics.median(firsts),
            spawn_first_request_crowd_max_s=max(firsts),
            pss_per_agent_mb=statistics.median(pss),
            rss_per_agent_mb=statistics.median(rss),
            pss_total_gb=sampler.peak_total_pss / 1024.0,
            rss_total_gb=sampler.peak_total_rss / 1024.0,
            crowd_processes_sampled=len(sampler.peak_pss),
        )
        shutil.rmtree(r["data_root"], ignore_errors=True)

        for n_sym, symbols in ((10, STAR10), (50, STAR50)):
            print(f"universe: 10 agents x 10 days, {n_sym} symbols ...", flush=True)
            config = build_config(workdir / f"u{n_sym}.json", 10, days[-10:], symbols, base_url)
            r = run_main(config, env)
            agents = r["agents"]
            loop = [a["loop_cpu_s"] / a["windows_run"] for a in agents.values() if a["windows_run"]]
            snap = [a["snapshot_s"] / a["windows_run"] for a in agents.values() if a["windows_run"]]
            out[f"u{n_sym}_exit_code"] = r["exit_code"]
            out[f"u{n_sym}_wall_s"] = r["wall_s"]
            out[f"u{n_sym}_loop_cpu_ms"] = statistics.median(loop) * 1000
            out[f"u{n_sym}_snapshot_wait_ms"] = statistics.median(snap) * 1000
            out[f"u{n_sym}_prefetch_ms_per_build"] = (
                r["prefetch_s"] / r["prefetch_built"] * 1000 if r["prefetch_built"] else None
            )
            shutil.rmtree(r["data_root"], ignore_errors=True)
        out["loop_cpu_ms_per_window"] = out["u10_loop_cpu_ms"]
        out["agent_cpu_ratio_50_vs_10"] = out["u50_loop_cpu_ms"] / out["u10_loop_cpu_ms"]
        if out["u10_prefetch_ms_per_build"] and out["u50_prefetch_ms_per_build"]:
            out["snapshot_build_ratio_50_vs_10"] = (
                out["u50_prefetch_ms_per_build"] / out["u10_prefetch_ms_per_build"]
            )
        out["snapshot_wait_ms_per_window_50"] = out["u50_snapshot_wait_ms"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    out["cpu_cores"] = os.cpu_count()
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


def report(r: dict[str, Any]) -> bool:
    print(f"\n{'measure':<36} {'today':<20} {'target':<20} {'measured':>10}")
    ok = True
    for key, today, target_text, target, unit in ROWS:
        value = r.get(key)
        shown = "-" if value is None else f"{value:.3g} {unit}"
        verdict = ""
        if target is not None and value is not None:
            passed = value <= target
            ok &= passed
            verdict = "PASS" if passed else "FAIL"
        print(f"{key:<36} {today:<20} {target_text:<20} {shown:>10}  {verdict}")
    print(
        f"crowd: exit {r['crowd_exit_code']}, statuses {r['crowd_statuses']}, "
        f"{r['crowd_windows']} windows; spawn -> first request max "
        f"{r['spawn_first_request_crowd_max_s']:.2f} s; RSS per agent "
        f"{r['rss_per_agent_mb']:.1f} MB, RSS sum {r['rss_total_gb']:.2f} GB"
    )
    print(
        f"universe: wall 10 symbols {r['u10_wall_s']:.1f} s, 50 symbols {r['u50_wall_s']:.1f} s; "
        f"prefetch per build {r['u10_prefetch_ms_per_build']} / "
        f"{r['u50_prefetch_ms_per_build']} ms; snapshot wait 10 symbols "
        f"{r['u10_snapshot_wait_ms']:.1f} ms"
    )
    print(f"solo spawn -> first request: {r['spawn_first_request_solo_all']}")
    print(f"orchestrator -> first spawn: {r['orchestrator_to_first_spawn_all']}")
    print(f"{r['cpu_cores']} cores; load average {r['load_avg_1m_after']} at the end")
    codes = (r["crowd_exit_code"], r["u10_exit_code"], r["u50_exit_code"])
    if any(codes):
        print(f"FAIL: a run did not exit 0: {codes}")
        ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--solo-runs", type=int, default=5)
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="astock-scale-"))
    try:
        result = measure(args, workdir)
    finally:
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
