"""Shared per-window snapshots: built once, read by every agent.

Path: ``<data_root>/agent_data/shared/snapshots/<YYYY-MM-DD>/<HH-MM-SS>_<safe_sig>.json``, lock
``<data_root>/agent_data/shared/locks/<YYYY-MM-DD>_<HH-MM-SS>_<safe_sig>.lock``.

``ensure_snapshot`` returns a valid existing file without locking. Otherwise it takes the
window's ``filelock`` (bounded wait: past it, a clear ``SnapshotError``), re-checks (another
process may have just built it), builds, stamps ``metadata.content_hash`` and writes the file
atomically (temp file + fsync + ``os.replace``), so readers never see a partial file. A file that
fails validation (not JSON, wrong schema, hash mismatch, wrong window) is rebuilt.

A writer killed mid-write leaves its temp file (``.<name>.<random>.tmp`` next to the snapshot);
``remove_stale_temp_files`` deletes those at the next start, each only while holding its
window's lock (no live process can be writing it then: snapshots are written under the lock).

This module is cheap to import: no pandas/ta/akshare/exchange_calendars. The builder and the
sources are imported only when a snapshot has to be built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_flow.clock import SHANGHAI, decision_time_text, time_file_stem
from data_flow.errors import SnapshotError
from data_flow.fsio import atomic_write_bytes

if TYPE_CHECKING:
    from data_flow.sources.base import MarketDataSource
    from settings.config import ArenaConfig

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_SAFE_SIG = 80
TOP_LEVEL_KEYS = frozenset(
    {
        "schema_version",
        "timestamp",
        "timezone",
        "trade_date",
        "symbols_signature",
        "market_data",
        "news",
        "metadata",
    }
)
SYMBOL_KEYS = frozenset(
    {
        "current_price",
        "bar_time",
        "open",
        "high",
        "low",
        "volume",
        "amount",
        "prev_close",
        "change_pct",
        "limit_up",
        "limit_down",
        "suspended",
        "recent_bars",
        "indicators",
    }
)
METADATA_KEYS = frozenset(
    {
        "schema_version",
        "content_hash",
        "prefetch_duration_ms",
        "data_sources",
        "synthetic",
        "news_count",
        "missing_symbols",
        "built_at",
        "builder_pid",
    }
)
ACTION_LIST_KEYS = ("corporate_actions_upcoming", "corporate_actions_effective")
"""Optional top-level lists (absent in snapshots built before corporate actions existed)."""
NEWS_KEYS = frozenset({"id", "title", "content", "publish_time", "source", "url", "symbol"})


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    path: Path
    snapshot: dict[str, Any]
    content_hash: str
    created: bool


# --- naming ------------------------------------------------------------------------------
def symbols_signature(symbols: list[str]) -> str:
    """Sorted symbols joined by ``|`` (the form stored in the snapshot)."""
    if not symbols:
        raise ValueError("a snapshot needs at least one symbol")
    return "|".join(sorted(set(symbols)))


def safe_signature(signature: str) -> str:
    """Filename-safe signature: ``|`` -> ``_`` when <= 80 chars, else a short hashed form."""
    plain = signature.replace("|", "_")
    if len(plain) <= MAX_SAFE_SIG:
        return plain
    parts = signature.split("|")
    digest = hashlib.sha1(signature.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]
    return f"{parts[0]}_{len(parts)}syms_{digest}"


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("snapshot moments must be timezone-aware")
    return moment.astimezone(SHANGHAI)


def snapshot_path(data_root: Path, moment: datetime, symbols: list[str]) -> Path:
    local = _local(moment)
    sig = safe_signature(symbols_signature(symbols))
    return (
        Path(data_root)
        / "agent_data"
        / "shared"
        / "snapshots"
        / local.date().isoformat()
        / f"{time_file_stem(local)}_{sig}.json"
    )


def lock_path(data_root: Path, moment: datetime, symbols: list[str]) -> Path:
    local = _local(moment)
    sig = safe_signature(symbols_signature(symbols))
    name = f"{local.date().isoformat()}_{time_file_stem(local)}_{sig}.lock"
    return Path(data_root) / "agent_data" / "shared" / "locks" / name


# --- hashing and serialisation -------------------------------------------------------------
def content_hash(snapshot: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the snapshot without ``metadata.content_hash``."""
    body = dict(snapshot)
    metadata = dict(body.get("metadata") or {})
    metadata.pop("content_hash", None)
    body["metadata"] = metadata
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(snapshot: dict[str, Any]) -> str:
    """Set ``metadata.content_hash`` in place; returns it."""
    snapshot.setdefault("metadata", {})
    digest = content_hash(snapshot)
    snapshot["metadata"]["content_hash"] = digest
    return digest


def serialize(snapshot: dict[str, Any]) -> bytes:
    """The exact bytes written to disk."""
    text = json.dumps(snapshot, indent=None, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


# --- validation ----------------------------------------------------------------------------
def validate_snapshot(snapshot: Any, where: str = "<snapshot>") -> str:
    """Check schema and content hash; returns the hash. Raises SnapshotError."""

    def fail(msg: str) -> SnapshotError:
        return SnapshotError(f"invalid snapshot {where}: {msg}")

    if not isinstance(snapshot, dict):
        raise fail("not a JSON object")
    missing = TOP_LEVEL_KEYS - snapshot.keys()
    if missing:
        raise fail(f"missing keys {sorted(missing)}")
    if snapshot["schema_version"] != SCHEMA_VERSION:
        raise fail(f"schema_version {snapshot['schema_version']!r} != {SCHEMA_VERSION}")
    market = snapshot["market_data"]
    if not isinstance(market, dict) or not market:
        raise fail("market_data must be a non-empty object")
    if snapshot["symbols_signature"] != "|".join(sorted(market)):
        raise fail("symbols_signature does not match market_data")
    for symbol, entry in market.items():
        if not isinstance(entry, dict):
            raise fail(f"market_data.{symbol} is not an object")
        lacking = SYMBOL_KEYS - entry.keys()
        if lacking:
            raise fail(f"market_data.{symbol} lacks {sorted(lacking)}")
        if not isinstance(entry["recent_bars"], list) or not isinstance(entry["indicators"], dict):
            raise fail(f"market_data.{symbol}: bad recent_bars/indicators")
        if entry["suspended"] is not (entry["current_price"] is None):
            raise fail(f"market_data.{symbol}: suspended must be true exactly when price is null")
    if not isinstance(snapshot["news"], list):
        raise fail("news must be a list")
    for key in ACTION_LIST_KEYS:
        actions = snapshot.get(key, [])
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            raise fail(f"{key} must be a list of objects")
    for i, item in enumerate(snapshot["news"]):
        if not isinstance(item, dict) or NEWS_KEYS - item.keys():
            raise fail(f"news[{i}] lacks keys")
    metadata = snapshot["metadata"]
    if not isinstance(metadata, dict) or METADATA_KEYS - metadata.keys():
        raise fail("metadata lacks keys")
    stored = metadata.get("content_hash")
    try:
        actual = content_hash(snapshot)
    except ValueError:  # NaN/Infinity: json.loads accepts them, the canonical form does not
        raise fail("contains non-finite numbers") from None
    if stored != actual:
        raise fail(f"content hash mismatch (stored {stored!r}, actual {actual})")
    return actual


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read and validate a snapshot file (schema + content hash). Raises SnapshotError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"snapshot not found: {path}") from None
    except OSError as err:
        raise SnapshotError(f"cannot read snapshot {path}: {err}") from None
    try:
        snapshot = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SnapshotError(f"invalid snapshot {path}: corrupt or partial JSON ({err})") from None
    validate_snapshot(snapshot, str(path))
    return snapshot


def _load_for_window(path: Path, moment: datetime, signature: str) -> dict[str, Any] | None:
    """The valid snapshot of this window at `path`, or None (missing or invalid -> rebuild)."""
    if not path.exists():
        return None
    try:
        snapshot = load_snapshot(path)
    except SnapshotError as err:
        log.warning("%s; it will be rebuilt", err)
        return None
    expected = decision_time_text(moment)
    if snapshot["timestamp"] != expected or snapshot["symbols_signature"] != signature:
        log.warning("snapshot %s belongs to another window; it will be rebuilt", path)
        return None
    return snapshot


# --- leftovers -----------------------------------------------------------------------------
def remove_stale_temp_files(data_root: Path) -> list[Path]:
    """Delete the temp files of snapshot writes that were killed; returns those deleted. A
    window whose lock is held right now (being built) is left alone."""
    from filelock import FileLock, Timeout

    folder = Path(data_root) / "agent_data" / "shared" / "snapshots"
    by_lock: dict[Path, list[Path]] = {}
    for tmp in sorted(folder.glob("*/.*.tmp")):
        target = tmp.name[1:].rsplit(".", 2)[0]  # ".<name>.<random>.tmp" -> "<name>"
        if not target.endswith(".json"):
            continue
        name = f"{tmp.parent.name}_{target.removesuffix('.json')}.lock"
        by_lock.setdefault(folder.parent / "locks" / name, []).append(tmp)
    removed: list[Path] = []
    for lock_file, temps in by_lock.items():
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_file), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            continue
        try:
            for tmp in temps:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    continue
                removed.append(tmp)
        finally:
            lock.release()
    if removed:
        log.warning("removed %d temp file(s) of interrupted snapshot writes", len(removed))
    return removed


# --- the store -----------------------------------------------------------------------------
def ensure_snapshot(
    data_root: Path,
    moment: datetime,
    symbols: list[str],
    build: Callable[[], dict[str, Any]],
    *,
    lock_timeout: float,
) -> SnapshotResult:
    """The window's snapshot, building it (once, across processes) when missing or invalid."""
    from filelock import FileLock, Timeout

    moment = _local(moment)
    signature = symbols_signature(symbols)
    path = snapshot_path(data_root, moment, symbols)
    existing = _load_for_window(path, moment, signature)
    if existing is not None:
        return SnapshotResult(path, existing, existing["metadata"]["content_hash"], False)

    lock_file = lock_path(data_root, moment, symbols)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_file), timeout=lock_timeout, thread_local=False)
    started = time.monotonic()
    try:
        lock.acquire()
    except Timeout:
        raise SnapshotError(
            f"timed out after {lock_timeout:g}s waiting for the snapshot lock {lock_file} "
            f"(window {decision_time_text(moment)}): another process holds it and is still "
            "building the snapshot, or is stuck; stop it or raise "
            "data_config.snapshot_lock_timeout_seconds"
        ) from None
    try:
        waited = time.monotonic() - started
        existing = _load_for_window(path, moment, signature)
        if existing is not None:
            log.debug("snapshot %s built by another process (waited %.2fs)", path, waited)
            return SnapshotResult(path, existing, existing["metadata"]["content_hash"], False)
        snapshot = build()
        if snapshot.get("timestamp") != decision_time_text(moment):
            raise SnapshotError(
                f"builder returned a snapshot for {snapshot.get('timestamp')!r}, "
                f"expected {decision_time_text(moment)}"
            )
        if snapshot.get("symbols_signature") != signature:
            raise SnapshotError("builder returned a snapshot for other symbols")
        digest = seal(snapshot)
        validate_snapshot(snapshot, f"built for {path}")
        atomic_write_bytes(path, serialize(snapshot))
        # Hand back exactly what readers will load from disk.
        snapshot = json.loads(serialize(snapshot))
        log.info("built snapshot %s", path)
        return SnapshotResult(path, snapshot, digest, True)
    finally:
        lock.release()


def ensure_window_snapshot(
    config: ArenaConfig,
    moment: datetime,
    source: MarketDataSource | None = None,
) -> SnapshotResult:
    """``ensure_snapshot`` for a config's symbols; the source (and pandas/ta) are created only
    when the snapshot actually has to be built."""

    def build() -> dict[str, Any]:
        from data_flow.snapshot_builder import build_snapshot
        from data_flow.sources import make_source

        market = source if source is not None else make_source(config)
        return build_snapshot(market, moment, list(config.symbols), config.data_config)

    result = ensure_snapshot(
        config.snapshot_root(),
        moment,
        list(config.symbols),
        build,
        lock_timeout=config.data_config.snapshot_lock_timeout_seconds,
    )
    # Configs that share a data root share snapshot paths: refuse another source's snapshot.
    # (Checked against the config, never `source.name`: reading must not create the source.)
    expected = [config.data_config.source]
    found = result.snapshot["metadata"]["data_sources"]
    if not result.created and found != expected:
        raise SnapshotError(
            f"snapshot {result.path} was built from {found} data but this config uses "
            f"{expected}; give each data source its own log_config.data_root"
        )
    return result
