"""Arena benchmark: N agents × every decision window of the STAR10 sample, end to end.

    .venv/bin/python bench/bench_arena.py [--agents 10] [--days 60] [--client http|baseline]

Runs the real `python main.py` (orchestrator + one process per agent) on a config like
settings/star10_files.json (source files at ../shared/data/astock_star10; the benchmark skips
with a message when they are absent) over the last `--days` trading days of the sample, with:
- `--client http` (default): OpenAI-provider agents talking real HTTP, through the openai SDK,
  to the fake OpenAI-compatible server (tests/fake_llm_server.py, rule `trade`: get_portfolio,
  then a BUY or SELL, then a final answer: 3 model calls and ≥1 broker order per window), run
  as its own process and answering instantly;
- `--client baseline`: the baseline strategies (in-process "LLMs" that call the same tools),
  i.e. the arena without any SDK or HTTP.

Prints: wall time of the whole `main.py` run (plan, start-up, all windows, summary), decisions
per second, arena overhead per decision — both as wall time (an agent's time per window minus
the model's latency: includes waiting for a CPU and for the window's snapshot) and as CPU time
(all arena processes per decision; and per agent, per decision, after start-up) — snapshot
builds per window (must be exactly 1), agent start-up time (spawn → ready to run its first
window; solo, and with all N starting at once) and peak RSS per agent (psutil, sampled every
50 ms; ru_maxrss in the JSON), CPU seconds per component, then PASS/FAIL against the targets:
N=10 × 60 days × 3 windows ≤ 30 s wall, start-up (solo) ≤ 1.5 s, RSS ≤ 120 MB.
`--json FILE` writes all numbers (bench/results/ is git-ignored). The machine is shared: the
load average at the end is printed with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data_flow.calendar import trading_days  # noqa: E402
from data_flow.fsio import iter_jsonl  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from samplers import RssSampler  # noqa: E402

SAMPLE = (ROOT.parent / "shared" / "data" / "astock_star10").resolve()
SAMPLE_LAST_DAY = date(2025, 12, 31)
SAMPLE_FIRST_DAY = date(2025, 9, 4)
KEY_ENV = "BENCH_FAKE_API_KEY"
FAKE_KEY = "sk-bench-fake-key-0000000000000000"
TARGET_WALL_S = 30.0
TARGET_STARTUP_S = 1.5
TARGET_RSS_MB = 120.0
BASELINES = ("buy_and_hold", "momentum", "mean_reversion", "random")


def build_config(
    workdir: Path, n_agents: int, days: list[date], client: str, base_url: str | None
) -> Path:
    template = json.loads((ROOT / "settings" / "star10_files.json").read_text(encoding="utf-8"))
    models = []
    for i in range(1, n_agents + 1):
        if client == "http":
            models.append(
                {
                    "signature": f"bench-{i:02d}",
                    "provider": "openai",
                    "basemodel": f"bench-model-{i:02d}",
                    "base_url": base_url,
                    "api_key_env": KEY_ENV,
                    "parameters": {"temperature": 0.0},
                }
            )
        else:
            strategy = BASELINES[(i - 1) % len(BASELINES)]
            params = {"seed": i} if strategy == "random" else {}
            models.append(
                {
                    "signature": f"bench-{i:02d}",
                    "provider": "baseline",
                    "basemodel": strategy,
                    "parameters": params,
                }
            )
    template.update(
        description=f"benchmark: {n_agents} agents ({client}) × {len(days)} trading days",
        date_range={"init_date": days[0].isoformat(), "end_date": days[-1].isoformat()},
        models=models,
    )
    template["data_config"]["path"] = str(SAMPLE)
    template["agent_config"].update(max_retries=1, base_delay=0.05, timeout_seconds=30)
    template["log_config"] = {"data_root": str(workdir / "data_root")}
    path = workdir / "bench_config.json"
    path.write_text(json.dumps(template, indent=2), encoding="utf-8")
    return path


def start_fake_server(workdir: Path, rule: str = "trade") -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / "fake_port.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_llm_server",
            "--rule",
            rule,
            "--port-file",
            str(port_file),
        ],
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("fake LLM server did not start")
        time.sleep(0.02)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def agent_numbers(data_root: Path, runtime_dir: Path, signature: str) -> dict[str, Any]:
    agent_dir = data_root / "agent_data" / signature
    run_end = [m for m in iter_jsonl(agent_dir / "manifest.jsonl") if m.get("type") == "run_end"]
    end = run_end[-1] if run_end else {}
    llm_ms = 0.0
    model_calls = 0
    trades = rejected = 0
    for log_file in sorted((agent_dir / "log").glob("*/*.jsonl")):
        for ev in iter_jsonl(log_file):
            if ev.get("type") == "window_end":
                llm_ms += float(ev.get("latency_ms_total") or 0.0)
                model_calls += int(ev.get("model_calls") or 0)
                trades += int(ev.get("trades") or 0)
                rejected += int(ev.get("rejected_orders") or 0)
    state = read_json(runtime_dir / f"runtime_env_{signature}.json")
    return {
        "status": end.get("status") or state.get("status"),
        "windows_run": int(end.get("windows_run") or 0),
        "snapshots_built": int(end.get("snapshots_built") or 0),
        "decision_seconds": float(end.get("decision_seconds") or 0.0),
        "snapshot_seconds": float(end.get("snapshot_seconds") or 0.0),
        "llm_seconds": llm_ms / 1000.0,
        "model_calls": model_calls,
        "trades": trades,
        "rejected": rejected,
        "startup_s": (end.get("startup_ms") or 0) / 1000.0,
        "ru_maxrss_mb": (end.get("peak_rss_kb") or 0) / 1024.0,
        "cpu_s": float(end.get("cpu_seconds") or 0.0),
        "loop_cpu_s": float(end.get("loop_cpu_seconds") or 0.0),
    }


def solo_startup(
    config: Path, signature: str, env: dict[str, str], days: list[date], runs: int = 5
) -> tuple[float, float, float]:
    """(median, min) start-up of one agent alone, spawned as the orchestrator spawns it (with
    the trading days in its environment): all its windows are already done, so it starts, finds
    nothing to do and exits; start-up = spawn → ready to run a window (its own `startup_ms`).
    Also returns the median CPU seconds of such a start (to separate start-up from the
    per-decision CPU of the benchmark's agents)."""
    values = []
    cpu = []
    manifest = Path(json.loads(config.read_text())["log_config"]["data_root"]) / "agent_data"
    manifest = manifest / signature / "manifest.jsonl"
    runtime = Path(env["RUNTIME_DIR"])
    solo_env = {
        **env,
        "ONLY_SIGNATURE": signature,
        "ARENA_TRADING_DAYS": ",".join(d.isoformat() for d in days),
    }
    for _ in range(runs):
        solo_env["ARENA_SPAWN_TIME"] = repr(time.time())
        subprocess.run(
            [sys.executable, str(ROOT / "main.py"), str(config)],
            env=solo_env,
            cwd=str(ROOT),
            capture_output=True,
            check=False,
            timeout=120,
        )
        state = read_json(runtime / f"runtime_env_{signature}.json")
        if state.get("startup_ms") is not None:
            values.append(state["startup_ms"] / 1000.0)
        ends = [m for m in iter_jsonl(manifest) if m.get("type") == "run_end"]
        if ends and ends[-1].get("cpu_seconds") is not None:
            cpu.append(float(ends[-1]["cpu_seconds"]))
    if not values:
        return float("nan"), float("nan"), float("nan")
    return statistics.median(values), min(values), statistics.median(cpu or [float("nan")])


def run(args: argparse.Namespace) -> dict[str, Any]:
    all_days = trading_days(SAMPLE_FIRST_DAY, SAMPLE_LAST_DAY)
    days = all_days[-args.days :]
    workdir = (
        Path(tempfile.mkdtemp(prefix="astock-bench-")) if args.workdir is None else (args.workdir)
    )
    workdir.mkdir(parents=True, exist_ok=True)
    runtime_dir = workdir / "runtime"
    server = None
    base_url = None
    if args.client == "http":
        server, base_url = start_fake_server(workdir)
    try:
        config = build_config(workdir, args.agents, days, args.client, base_url)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.pop("ONLY_SIGNATURE", None)
        env.update({KEY_ENV: FAKE_KEY, "RUNTIME_DIR": str(runtime_dir)})
        print(
            f"benchmark: {args.agents} agents ({args.client}) × {len(days)} trading days × 3 "
            f"windows ({days[0]} .. {days[-1]}), work dir {workdir}",
            flush=True,
        )
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), str(config), "--no-backup"],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        sampler = RssSampler(proc.pid, workdir / "data_root")
        sampler.start()
        output, _ = proc.communicate(timeout=args.timeout)
        wall = time.perf_counter() - started
        usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        arena_cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
            usage_after.ru_stime - usage_before.ru_stime
        )
        sampler.stop()
        server_cpu = None
        if server is not None:
            times = psutil.Process(server.pid).cpu_times()
            server_cpu = times.user + times.system
        if args.verbose:
            print(output)
        signatures = [f"bench-{i:02d}" for i in range(1, args.agents + 1)]
        data_root = workdir / "data_root"
        agents = {s: agent_numbers(data_root, runtime_dir, s) for s in signatures}
        prefetched = 0
        for line in output.splitlines():
            if line.startswith("snapshots built by the prefetcher:"):
                prefetched = int(line.split(":")[1].split()[0])
        n_windows = len(days) * 3
        snapshot_files = len(list((data_root / "agent_data/shared/snapshots").glob("*/*.json")))
        builds = prefetched + sum(a["snapshots_built"] for a in agents.values())
        decisions = sum(a["windows_run"] for a in agents.values())
        overhead = [
            (a["decision_seconds"] + a["snapshot_seconds"] - a["llm_seconds"]) / a["windows_run"]
            for a in agents.values()
            if a["windows_run"]
        ]
        llm_per = [a["llm_seconds"] / a["windows_run"] for a in agents.values() if a["windows_run"]]
        solo, solo_min, solo_cpu = solo_startup(config, signatures[0], env, days)
        # the agent's own CPU from "ready" to the end of its loop (run_end.loop_cpu_seconds):
        # a forked agent's start-up costs far less than a solo start, so subtracting the solo
        # start-up from its total would be wrong
        steady = [a["loop_cpu_s"] / a["windows_run"] for a in agents.values() if a["windows_run"]]
        result = {
            "client": args.client,
            "agents": args.agents,
            "trading_days": len(days),
            "windows_per_agent": n_windows,
            "exit_code": proc.returncode,
            "wall_s": round(wall, 2),
            "decisions": decisions,
            "decisions_per_s": round(decisions / wall, 1),
            "arena_overhead_ms_per_decision": round(statistics.mean(overhead) * 1000, 2),
            "model_latency_ms_per_decision": round(statistics.mean(llm_per) * 1000, 2),
            "model_calls": sum(a["model_calls"] for a in agents.values()),
            "trades": sum(a["trades"] for a in agents.values()),
            "rejected_orders": sum(a["rejected"] for a in agents.values()),
            "snapshot_builds": builds,
            "snapshot_builds_by_prefetcher": prefetched,
            "snapshot_files": snapshot_files,
            "snapshot_builds_per_window": round(builds / n_windows, 3),
            "startup_s_under_load": {s: a["startup_s"] for s, a in agents.items()},
            "startup_s_solo": round(solo, 3),
            "startup_s_solo_min": round(solo_min, 3),
            "peak_rss_mb_psutil": {s: round(v, 1) for s, v in sorted(sampler.peak_mb.items())},
            "peak_rss_mb_ru_maxrss": {s: round(a["ru_maxrss_mb"], 1) for s, a in agents.items()},
            "statuses": {s: a["status"] for s, a in agents.items()},
            "cpu_s_total_arena": round(arena_cpu, 2),
            "cpu_s_agents": round(sum(a["cpu_s"] for a in agents.values()), 2),
            "cpu_s_orchestrator_incl_prefetch": round(sampler.root_cpu_s, 2),
            "cpu_s_agent_exit_and_unaccounted": round(
                arena_cpu - sampler.root_cpu_s - sum(a["cpu_s"] for a in agents.values()), 2
            ),
            "cpu_s_fake_server": None if server_cpu is None else round(server_cpu, 2),
            "arena_cpu_ms_per_decision": round(arena_cpu / max(decisions, 1) * 1000, 2),
            "agent_cpu_ms_per_decision_after_startup": round(statistics.mean(steady) * 1000, 2),
            "agent_startup_cpu_s": round(solo_cpu, 3),
            "cpu_cores": os.cpu_count(),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
        }
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)  # our own temp dir
        else:
            print(f"records kept in {workdir}")
    return result


def report(r: dict[str, Any]) -> bool:
    startups = list(r["startup_s_under_load"].values())
    rss = list(r["peak_rss_mb_psutil"].values()) or [0.0]
    print(
        f"exit code                      {r['exit_code']}  statuses: "
        f"{sorted(set(r['statuses'].values()))}"
    )
    print(f"wall time                      {r['wall_s']:.2f} s for {r['decisions']} decisions")
    print(f"decisions per second           {r['decisions_per_s']}")
    print(
        f"arena overhead per decision    {r['arena_overhead_ms_per_decision']} ms wall in the "
        f"agent besides the model's {r['model_latency_ms_per_decision']} ms "
        f"({r['model_calls']} model calls, {r['trades']} trades); "
        f"{r['arena_cpu_ms_per_decision']} ms CPU (arena processes, start-up included)"
    )
    print(
        f"agent CPU per decision         {r['agent_cpu_ms_per_decision_after_startup']} ms "
        f"(its loop only; a solo start-up costs {r['agent_startup_cpu_s']} CPU s)"
    )
    print(
        f"snapshot builds per window     {r['snapshot_builds_per_window']} "
        f"({r['snapshot_builds']} builds, {r['snapshot_builds_by_prefetcher']} by the "
        f"orchestrator's prefetcher; {r['snapshot_files']} files, "
        f"{r['windows_per_agent']} windows)"
    )
    server = r["cpu_s_fake_server"]
    print(
        f"CPU seconds                    agents {r['cpu_s_agents']}, orchestrator+prefetch "
        f"{r['cpu_s_orchestrator_incl_prefetch']}, agents' exit etc. "
        f"{r['cpu_s_agent_exit_and_unaccounted']}, fake server "
        f"{'-' if server is None else server} ({r['cpu_cores']} cores; load average "
        f"{r['load_avg_1m_after']} at the end)"
    )
    print(
        f"agent start-up (solo)          median {r['startup_s_solo']:.3f} s, "
        f"min {r['startup_s_solo_min']:.3f} s"
    )
    print(
        f"agent start-up (all at once)   median {statistics.median(startups):.3f} s, "
        f"max {max(startups):.3f} s"
    )
    print(
        f"peak RSS per agent (psutil)    median {statistics.median(rss):.1f} MB, "
        f"max {max(rss):.1f} MB"
    )
    full = r["agents"] >= 10 and r["trading_days"] >= 60
    checks = [
        ("exactly one snapshot build per window", r["snapshot_builds_per_window"] == 1.0),
        ("all agents completed", r["exit_code"] == 0),
        (f"start-up (solo) <= {TARGET_STARTUP_S} s", r["startup_s_solo"] <= TARGET_STARTUP_S),
        (f"peak RSS <= {TARGET_RSS_MB:.0f} MB", max(rss) <= TARGET_RSS_MB),
    ]
    if full:
        checks.append((f"wall <= {TARGET_WALL_S:.0f} s", r["wall_s"] <= TARGET_WALL_S))
    ok = True
    for name, passed in checks:
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--client", choices=("http", "baseline"), default="http")
    p.add_argument(
        "--workdir", type=Path, default=None, help="default: a new temp dir, removed at the end"
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir with all records")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    p.add_argument("--verbose", action="store_true", help="print main.py's output")
    args = p.parse_args(argv)
    if not (SAMPLE / "ai_stock_data.json").is_file():
        print(f"benchmark skipped: sample data not found at {SAMPLE}")
        return 0
    result = run(args)
    ok = report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
