"""Every arena the server knows: each config in `settings/` and every cell of every experiment.

An arena is a data root (its agent records) plus the snapshot store its windows were decided on.
Ids: a config's path relative to `settings/` without `.json` (`default_config`, `star10_files`);
an experiment cell is `exp:<experiment>/<cell id>`. The default arena (id of
settings/default_config.json) serves the server's data root (`ARENA_DATA_ROOT` or that config's).

The lists are re-read on demand: a config added to `settings/` is an arena at the next request.
Parsed configs and experiments are cached by file stamp; one LiveStore per (data root, snapshot
root) is kept (least recently used beyond `MAX_STORES`).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_engine.experiments import spec
from data_flow.live.store import LiveStore
from settings.config import PROJECT_ROOT, SETTINGS_DIR, ArenaConfig, ConfigError, load_config

EXPERIMENT_PREFIX = "exp:"
MAX_STORES = 32
_TAIL_BYTES = 8192


@dataclass(frozen=True)
class Arena:
    id: str
    kind: str  # "config" | "experiment_cell"
    config_name: str  # the config file (for cells: the experiment file), relative to settings/
    config: ArenaConfig | None
    data_root: Path
    snapshot_root: Path
    default: bool = False

    def model_info(self, signature: str) -> tuple[str | None, str | None]:
        if self.config is None:
            return None, None
        try:
            model = self.config.model(signature)
        except ConfigError:
            return None, None
        return model.provider, model.basemodel


def config_arena_id(config_file: str | Path) -> str | None:
    """The arena id of a config file inside settings/ (None outside it)."""
    try:
        rel = Path(config_file).resolve().relative_to(SETTINGS_DIR.resolve())
    except (ValueError, OSError):
        return None
    return rel.with_suffix("").as_posix()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class ArenaRegistry:
    def __init__(
        self,
        data_root: Path,
        *,
        default_config: str,
        settings_dir: Path = SETTINGS_DIR,
        experiments_dir: Path | None = None,
        live_refresh_interval: float = 0.0,
    ) -> None:
        self.data_root = data_root.resolve()
        self.settings_dir = settings_dir.resolve()
        self.experiments_dir = experiments_dir or spec.EXPERIMENTS_DIR
        self.default_id = Path(default_config).with_suffix("").as_posix()
        self._refresh_interval = live_refresh_interval
        self._lock = threading.RLock()
        self._configs: dict[Path, tuple[Any, ArenaConfig | None]] = {}
        self._experiments: dict[Path, tuple[Any, list[Arena]]] = {}
        self._stores: OrderedDict[tuple[Path, Path], LiveStore] = OrderedDict()

    # --- discovery -----------------------------------------------------------------------
    def _config(self, path: Path) -> ArenaConfig | None:
        stamp = _stamp(path)
        hit = self._configs.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        try:
            config: ArenaConfig | None = load_config(path)
        except ConfigError:
            config = None
        self._configs[path] = (stamp, config)
        return config

    def _config_files(self) -> list[Path]:
        out = []
        for path in sorted(self.settings_dir.rglob("*.json")):
            rel = path.relative_to(self.settings_dir)
            if rel.parts[0] in ("runtime", "experiments") or rel.name.startswith("."):
                continue
            out.append(path)
        return out

    def default(self) -> Arena:
        path = self.settings_dir / f"{self.default_id}.json"
        with self._lock:
            config = self._config(path)
        same = config is not None and config.data_root() == self.data_root
        return Arena(
            id=self.default_id,
            kind="config",
            config_name=path.name,
            config=config,
            data_root=self.data_root,
            snapshot_root=config.snapshot_root() if same and config else self.data_root,
            default=True,
        )

    def config_arenas(self) -> list[Arena]:
        out = [self.default()]
        with self._lock:
            for path in self._config_files():
                arena_id = path.relative_to(self.settings_dir).with_suffix("").as_posix()
                config = self._config(path)
                if arena_id == self.default_id or config is None:
                    continue
                out.append(
                    Arena(
                        id=arena_id,
                        kind="config",
                        config_name=path.relative_to(self.settings_dir).as_posix(),
                        config=config,
                        data_root=config.data_root(),
                        snapshot_root=config.snapshot_root(),
                    )
                )
        return out

    def _experiment_cells(self, path: Path) -> list[Arena]:
        stamp = _stamp(path)
        hit = self._experiments.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        try:
            exp = spec.load_experiment(path.stem, path.parent)
            cells = [
                Arena(
                    id=f"{EXPERIMENT_PREFIX}{exp.name}/{cell.cell_id}",
                    kind="experiment_cell",
                    config_name=f"experiments/{path.name}",
                    config=cell.config,
                    data_root=cell.root,
                    snapshot_root=cell.snapshot_root,
                )
                for cell in exp.cells()
            ]
        except ConfigError:
            cells = []
        self._experiments[path] = (stamp, cells)
        return cells

    def experiment_arenas(self) -> list[Arena]:
        out: list[Arena] = []
        with self._lock:
            for path in sorted(self.experiments_dir.glob("*.json")):
                if spec.NAME_RE.match(path.stem):
                    out.extend(self._experiment_cells(path))
        return out

    def all(self) -> list[Arena]:
        return self.config_arenas() + self.experiment_arenas()

    def get(self, arena_id: str | None) -> Arena:
        """The arena with this id (None = the default). KeyError when there is none."""
        if arena_id is None or arena_id == self.default_id:
            return self.default()
        if arena_id.startswith(EXPERIMENT_PREFIX):
            name = arena_id[len(EXPERIMENT_PREFIX) :].split("/", 1)[0]
            path = self.experiments_dir / f"{name}.json"
            if spec.NAME_RE.match(name) and path.is_file():
                with self._lock:
                    for arena in self._experiment_cells(path):
                        if arena.id == arena_id:
                            return arena
            raise KeyError(arena_id)
        for arena in self.config_arenas():
            if arena.id == arena_id:
                return arena
        raise KeyError(arena_id)

    # --- stores --------------------------------------------------------------------------
    def store(self, arena: Arena, default_store: LiveStore | None = None) -> LiveStore:
        key = (arena.data_root, arena.snapshot_root)
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                if default_store is not None and arena.default:
                    store = default_store
                else:
                    store = LiveStore(
                        arena.data_root,
                        model_info=arena.model_info,
                        min_refresh_interval=self._refresh_interval,
                        snapshot_root=arena.snapshot_root,
                    )
                self._stores[key] = store
                while len(self._stores) > MAX_STORES:
                    self._stores.popitem(last=False)
            self._stores.move_to_end(key)
            return store


def last_window(data_root: Path) -> str | None:
    """The latest window id any agent of `data_root` recorded (reads each ledger's tail)."""
    best: str | None = None
    try:
        entries = list(os.scandir(data_root / "agent_data"))
    except OSError:
        return None
    for entry in entries:
        if not entry.is_dir() or entry.name == "shared":
            continue
        wid = _last_ledger_window(Path(entry.path) / "position" / "position.jsonl")
        if wid is not None and (best is None or wid > best):
            best = wid
    return best


def _last_ledger_window(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            data = fh.read()
    except OSError:
        return None
    for raw in reversed(data.split(b"\n")):
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("window_id"), str):
            return rec["window_id"]
    return None


def display_root(path: Path) -> str:
    """A data root relative to the project when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)
