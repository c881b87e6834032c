"""A job's process tree: find every process of a run (its children, and members of its process
group whose parent already died), signal them all, and wait until they are gone."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil


def process_tree(pid: int, create_time: float | None) -> list[psutil.Process]:
    procs: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(pid)
        if create_time is None or abs(root.create_time() - create_time) <= 1.0:
            procs[pid] = root
            for child in root.children(recursive=True):
                procs[child.pid] = child
    except psutil.Error:
        pass
    for p in psutil.process_iter():  # members of the group whose parent already died
        with contextlib.suppress(psutil.Error, OSError):
            if p.pid not in procs and os.getpgid(p.pid) == pid:
                procs[p.pid] = p
    return list(procs.values())


def gone(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Poll until every process has exited (a zombie counts as exited); returns survivors.

    Deliberately not psutil.wait_procs: it reaps our own children with waitpid, which would
    steal the exit status from the Popen object whose watcher thread records it.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if not gone(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def signal_all(pgid: int, procs: list[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)
