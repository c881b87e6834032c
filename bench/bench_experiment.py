"""Experiment benchmark: 4 baselines + 1 scripted LLM × N repeats × 1 period, offline.

    .venv/bin/python bench/bench_experiment.py [--repeats 5] [--workers 2]
        [--days 2025-11-03:2025-11-14] [--json FILE]

Writes an experiment file to a temp folder (base: settings/default_config.json's demo market
and its four baseline agents, plus `scripted-llm`, an OpenAI-provider agent talking real HTTP
through the openai SDK to the fake server tests/fake_llm_server.py, rule `trade`), runs
`python -m agent_engine.experiment run <file> --workers K` (every cell a real `main.py`
arena), then prints:
- wall time of the whole run (snapshot store, all cells, report) and of the report alone;
- cells per minute;
- shared-snapshot builds per period and per window: the store's builds plus any build by a
  cell (agents' `run_end.snapshots_built`, the cells' prefetchers) — must be exactly 1 per
  window, i.e. one store per period;
- PASS/FAIL of those checks. `--json FILE` writes the numbers (bench/results/ is git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_arena import FAKE_KEY, KEY_ENV, start_fake_server  # noqa: E402
from data_flow.fsio import read_jsonl  # noqa: E402

PREFETCH_RE = re.compile(r"snapshots built by the prefetcher: (\d+)")


def experiment_file(workdir: Path, base_url: str, repeats: int, period: tuple[str, str]) -> Path:
    base = json.loads((ROOT / "settings" / "default_config.json").read_text(encoding="utf-8"))
    base["models"] = [m for m in base["models"] if m["provider"] == "baseline"] + [
        {
            "signature": "scripted-llm",
            "provider": "openai",
            "basemodel": "fake-model",
            "base_url": base_url,
            "api_key_env": KEY_ENV,
            "parameters": {"temperature": 0.3},
        }
    ]
    base["log_config"] = {"data_root": str(workdir / "data")}
    data = {
        "description": "bench: 4 baselines + 1 scripted LLM",
        "base_config": base,
        "models": [m["signature"] for m in base["models"]],
        "repeats": repeats,
        "periods": [{"name": "bench", "init_date": period[0], "end_date": period[1]}],
        "seed": 0,
    }
    path = workdir / "bench_experiment.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def count_builds(exp_root: Path) -> dict[str, Any]:
    store = json.loads((exp_root / "snapshots" / "bench" / "store.json").read_text())
    by_cells = 0
    cells = 0
    for result in sorted(exp_root.glob("*/result.json")):
        cell = result.parent
        cells += 1
        for manifest in cell.glob("agent_data/*/manifest.jsonl"):
            by_cells += sum(
                int(r.get("snapshots_built", 0))
                for r in read_jsonl(manifest)
                if r["type"] == "run_end"
            )
        log = (cell / "main.log").read_text(encoding="utf-8", errors="replace")
        by_cells += sum(int(n) for n in PREFETCH_RE.findall(log))
    files = len(list((exp_root / "snapshots" / "bench").glob("agent_data/shared/snapshots/*/*")))
    return {
        "windows": store["windows"],
        "store_builds": store["builds_total"],
        "cell_builds": by_cells,
        "snapshot_files": files,
        "cells": cells,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--days", default="2025-11-03:2025-11-14", help="init:end of the period")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args()
    period = tuple(args.days.split(":", 1))
    workdir = Path(tempfile.mkdtemp(prefix="bench_experiment_"))
    server, base_url = start_fake_server(workdir)
    try:
        path = experiment_file(workdir, base_url, args.repeats, period)  # type: ignore[arg-type]
        env = dict(os.environ, **{KEY_ENV: FAKE_KEY})
        cmd = [sys.executable, "-m", "agent_engine.experiment", "run", str(path)]
        cmd += ["--workers", str(args.workers)]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
            print(f"FAIL: experiment exited {proc.returncode}")
            return 1
        exp_root = workdir / "data" / "experiments" / "bench_experiment"
        t1 = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "agent_engine.experiment", "report", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        report_s = time.monotonic() - t1
        builds = count_builds(exp_root)
        report = json.loads((exp_root / "report.json").read_text())
        total = builds["store_builds"] + builds["cell_builds"]
        numbers = {
            "cells": builds["cells"],
            "workers": args.workers,
            "wall_s": round(wall, 2),
            "cells_per_minute": round(builds["cells"] / wall * 60, 1),
            "report_s": round(report_s, 2),
            "windows_per_period": builds["windows"],
            "snapshot_builds_per_period": total,
            "snapshot_builds_per_window": round(total / builds["windows"], 3),
            "snapshot_stores_per_period": 1,
            "snapshot_files": builds["snapshot_files"],
            "completed": report["cells"]["completed"],
            "load_avg": os.getloadavg(),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    for key, value in numbers.items():
        print(f"{key:28s} {value}")
    checks = {
        "every cell completed": numbers["completed"] == numbers["cells"],
        "exactly 1 snapshot build per window": numbers["snapshot_builds_per_window"] == 1.0,
        "one snapshot file per window": numbers["snapshot_files"] == numbers["windows_per_period"],
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}: {name}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
