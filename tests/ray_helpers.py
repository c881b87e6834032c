"""A real local two-node Ray cluster for the Ray executor tests: a head and a second node, each
`ray start --block` in its own process group, temp dir and work dir (no shared data root), one
CPU each; stopped by killing both process groups, whatever happens in the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.waiting import wait_for

RAY = str(Path(sys.executable).with_name("ray"))
STARTED = "Ray runtime started"


@dataclass
class Cluster:
    address: str
    work_dirs: list[Path]  # each node's ARENA_RAY_WORK_DIR
    procs: list[subprocess.Popen[bytes]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], node_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    (node_dir / "ray").mkdir(parents=True)
    (node_dir / "work").mkdir()
    node_env = {**env, "ARENA_RAY_WORK_DIR": str(node_dir / "work"), "TMPDIR": str(node_dir)}
    cmd = [RAY, "start", "--block", "--num-cpus=1", "--node-ip-address=127.0.0.1",
           f"--temp-dir={node_dir / 'ray'}", "--object-store-memory=100000000",
           "--disable-usage-stats", *args]  # fmt: skip
    log = (node_dir / "ray.log").open("wb")
    return subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=node_env, start_new_session=True
    )


def _started(node_dir: Path) -> bool:
    return STARTED in (node_dir / "ray.log").read_text(errors="replace")


@contextlib.contextmanager
def two_node_cluster(root: Path, env: dict[str, Any]) -> Iterator[Cluster]:
    port = _free_port()
    base = {**os.environ, **env, "RAY_USAGE_STATS_ENABLED": "0"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        head = root / "head"
        head_args = ["--head", f"--port={port}", "--include-dashboard=false"]
        procs.append(_start(head_args, head, base))
        wait_for(lambda: _started(head), 90, "the Ray head started")
        node = root / "node2"
        procs.append(_start([f"--address=127.0.0.1:{port}"], node, base))
        wait_for(lambda: _started(node), 90, "the second Ray node joined")
        yield Cluster(f"127.0.0.1:{port}", [head / "work", node / "work"], procs)
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
