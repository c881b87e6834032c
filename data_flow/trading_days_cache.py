"""On-disk cache of the exchange calendar's sessions, so listing trading days needs neither
`exchange_calendars` nor pandas (~0.5 s of imports on every orchestrator and on any agent that
builds a snapshot).

File: `data_flow/cache/calendar_<name>.json` (`$ARENA_CALENDAR_CACHE_DIR` moves it), holding the
calendar name, a key for the installed `exchange_calendars` (its dist-info folder name and the
size and mtime of the calendar's module file: an upgrade or reinstall changes it) and the
sessions. A missing, unreadable, malformed or stale file is rebuilt from `exchange_calendars` and
rewritten atomically; when it cannot be written the sessions are still returned.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

from data_flow.fsio import atomic_write_bytes
from settings.env import CALENDAR_CACHE_DIR_ENV, env_value

CACHE_DIR_ENV = CALENDAR_CACHE_DIR_ENV
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "cache"


def cache_path(name: str) -> Path:
    override = env_value(CACHE_DIR_ENV)  # tests point it elsewhere; read via settings.env
    folder = Path(override).expanduser() if override else DEFAULT_CACHE_DIR
    return folder / f"calendar_{name}.json"


def library_key(name: str) -> str:
    """Identifies the installed exchange_calendars (without importing it)."""
    spec = importlib.util.find_spec("exchange_calendars")
    if spec is None or spec.origin is None:
        return "exchange_calendars missing"
    package = Path(spec.origin).parent
    dist = sorted(p.name for p in package.parent.glob("exchange_calendars-*.dist-info"))
    module = package / f"exchange_calendar_{name.lower()}.py"
    try:
        st = module.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "no module file"
    return f"{','.join(dist)}|{module.name}|{stamp}"


def library_sessions(name: str) -> tuple[date, ...]:
    """The sessions straight from exchange_calendars (imports pandas)."""
    with warnings.catch_warnings():  # pandas 3 deprecation noise from inside the library
        warnings.simplefilter("ignore")
        import exchange_calendars as xcals

        return tuple(ts.date() for ts in xcals.get_calendar(name).sessions)


def _read(path: Path, name: str, key: str) -> tuple[date, ...] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("calendar") != name or data.get("key") != key:
            return None
        sessions = tuple(date.fromisoformat(s) for s in data["sessions"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    ordered = all(a < b for a, b in itertools.pairwise(sessions))
    return sessions if sessions and ordered else None


def cached_sessions(
    name: str, load: Callable[[str], tuple[date, ...]] = library_sessions
) -> tuple[date, ...]:
    """The calendar's sessions from the cache file, else from `load` (then cached)."""
    path = cache_path(name)
    key = library_key(name)
    sessions = _read(path, name, key)
    if sessions is not None:
        return sessions
    sessions = load(name)
    record = {"calendar": name, "key": key, "sessions": [d.isoformat() for d in sessions]}
    with contextlib.suppress(OSError):
        atomic_write_bytes(path, (json.dumps(record) + "\n").encode("utf-8"))
    return sessions
