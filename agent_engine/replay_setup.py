"""`python main.py CONFIG --replay-llm RUN_DIR`: point every model agent at a recorded run.

The replay writes its own records in the config's data root (which must not be RUN_DIR) and
runs on the recorded run's snapshots, which are copied there first (existing files are kept).
"""

from __future__ import annotations

from pathlib import Path

from data_flow.fsio import atomic_write_bytes
from settings.config import ArenaConfig, ConfigError, parse_config

SNAPSHOTS = Path("agent_data") / "shared" / "snapshots"


def apply_replay(config: ArenaConfig, run_dir: Path, continue_live: bool) -> ArenaConfig:
    """The config with `replay` set on every non-baseline model. Raises ConfigError."""
    root = run_dir.expanduser().resolve()
    if not (root / "agent_data").is_dir():
        raise ConfigError(f"--replay-llm: {root} is not a data root (no agent_data/ in it)")
    if root == config.data_root().resolve():
        raise ConfigError(
            f"--replay-llm: the config's data root is the recorded run {root}; "
            "replay into another log_config.data_root"
        )
    data = config.model_dump(mode="json")
    for model in data["models"]:
        if model["provider"] != "baseline":
            model["replay"] = {
                "run_dir": str(root),
                "signature": None,
                "on_divergence": "live" if continue_live else "stop",
            }
    return parse_config(data, "config (with --replay-llm)")


def seed_snapshots(run_dir: Path, data_root: Path) -> int:
    """Copy the recorded run's snapshot files that `data_root` lacks; returns how many."""
    return copy_missing_snapshots(run_dir.expanduser().resolve() / SNAPSHOTS, data_root)


def copy_missing_snapshots(store: Path, data_root: Path) -> int:
    """Copy the snapshot files of `store` (an ``agent_data/shared/snapshots`` folder) that
    `data_root`'s store lacks; returns how many."""
    target = data_root / SNAPSHOTS
    copied = 0
    for path in sorted(store.rglob("*.json")) if store.is_dir() else []:
        dest = target / path.relative_to(store)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, path.read_bytes())
        copied += 1
    return copied
