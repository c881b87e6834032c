"""Benchmark the hot live endpoints under concurrent load with a real uvicorn server.

    .venv/bin/python bench/bench_api.py [--agents 10] [--days 250] [--duration 10]
        [--connections 4] [--workers 1] [--loadgen auto|wrk|python] [--keep DIR]

1. writes `agents` x `days` x 3 windows of records (ledgers, decision logs, snapshots) in the
   contract formats into a temp data root (tests/api_fixtures.write_arena);
2. starts `uvicorn api_server:app` on 127.0.0.1 with ARENA_DATA_ROOT pointing there;
3. warms each URL once (the first request parses everything), then measures p50/p99 latency
   and requests/s per URL with `wrk` (apt-get install wrk) or, without it, a Python load
   generator (httpx clients in processes).

uvicorn runs with its defaults (`--loop auto --http auto`): uvloop and httptools when they are
installed, else asyncio and h11. The project installs plain `uvicorn` (no `[standard]` extra), so
it is asyncio + h11 unless you add them; the results file records which were used.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.api_fixtures import write_arena  # noqa: E402

# (url, send "Accept-Encoding: gzip" like a browser does)
URLS = [
    ("/api/live/model-stats", False),
    ("/api/live/model-stats?signature=agent-03", False),
    ("/api/live/pnl-series?signature=agent-03", False),
    ("/api/live/pnl-series?signature=agent-03&valuation=cost", False),
    ("/api/live/pnl-series", False),
    ("/api/live/pnl-series", True),
    ("/api/live/model-stats", True),
]


def server_stack() -> dict[str, str]:
    """What uvicorn's `auto` loop and HTTP settings pick in this environment."""
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(base: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not come up")


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url: str, duration: int, connections: int, threads: int, gz: bool) -> dict[str, float]:
    headers = ["-H", "Accept-Encoding: gzip"] if gz else []
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", *headers, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(lat["50"]),
        "p99_ms": _ms(lat["99"]),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _py_worker(url: str, deadline: float, threads: int, gz: bool, q: mp.Queue) -> None:
    import threading

    import httpx

    lat: list[float] = []
    lock = threading.Lock()

    def loop() -> None:
        mine = []
        headers = {"Accept-Encoding": "gzip" if gz else "identity"}
        with httpx.Client(timeout=10, headers=headers) as client:
            while time.time() < deadline:
                t0 = time.perf_counter()
                r = client.get(url)
                r.read()
                mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put(lat)


def run_python(url: str, duration: int, connections: int, gz: bool) -> dict[str, float]:
    procs_n = 2
    q: mp.Queue = mp.Queue()
    deadline = time.time() + duration
    procs = [
        mp.Process(target=_py_worker, args=(url, deadline, max(1, connections // procs_n), gz, q))
        for _ in range(procs_n)
    ]
    for p in procs:
        p.start()
    lat = [x for _ in procs for x in q.get()]
    for p in procs:
        p.join()
    lat.sort()
    return {
        "rps": len(lat) / duration,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[int(len(lat) * 0.99) - 1],
        "non_2xx": 0,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep this data root")
    ap.add_argument("--out", type=Path, default=PROJECT / "bench" / "results" / "bench_api.json")
    return ap.parse_args(argv)


def main() -> int:
    args = parse_args()
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"

    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    root = args.keep or tmp / "data"
    if not (root / "agent_data").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        write_arena(root, agents=args.agents, days=args.days)
        print(f"generated {args.agents} agents x {args.days * 3} windows in "
              f"{time.perf_counter() - t0:.1f} s into {root}")  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ARENA_DATA_ROOT=str(root), ARENA_BACKUP_DIR=str(tmp / "backups"))
    env.pop("ARENA_API_TOKEN", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api_server:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(args.workers)],
        cwd=PROJECT,
        env=env,
    )  # fmt: skip
    results = {}
    stack = server_stack()
    try:
        wait_up(base)
        import httpx

        for url, _ in URLS:  # warm: first request per worker parses everything
            for _ in range(max(1, args.workers) * 4):
                t0 = time.perf_counter()
                r = httpx.get(base + url, timeout=120)
                r.raise_for_status()
            took = 1000 * (time.perf_counter() - t0)
            print(f"warm {url}: {len(r.content)} bytes, last {took:.1f} ms")
        print(
            f"load generator: {loadgen}; {args.connections} connections, {args.duration} s per "
            f"URL; uvicorn workers: {args.workers} ({stack['loop']} + {stack['http']}); "
            f"cpus: {os.cpu_count()}"
        )
        for url, gz in URLS:
            if loadgen == "wrk":
                res = run_wrk(base + url, args.duration, args.connections, args.threads, gz)
            else:
                res = run_python(base + url, args.duration, args.connections, gz)
            label = url + (" [gzip]" if gz else "")
            results[label] = res
            print(f"{label:58s} p50 {res['p50_ms']:7.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
                  f"{res['rps']:8.0f} req/s  non-2xx {res['non_2xx']}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "agents": args.agents,
        "windows_per_agent": args.days * 3,
        "connections": args.connections,
        "workers": args.workers,
        "uvicorn_loop": stack["loop"],
        "uvicorn_http": stack["http"],
        "loadgen": loadgen,
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
