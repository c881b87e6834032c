"""Experiment files (`settings/experiments/<name>.json`) and the grid of cells they describe.

An experiment is a base arena config plus a grid: models × repeats × periods. Every cell is
an ordinary arena with one agent, run by `main.py` from a generated config under
`<data_root>/experiments/<name>/<cell>/`; all cells of a period read one snapshot store,
`<data_root>/experiments/<name>/snapshots/<period>/` (`log_config.snapshot_root`).

Repeats differ only in their seed: a stable hash of (experiment seed, signature, repeat),
given as `parameters.seed` to the models that accept one (OpenAI-compatible providers and the
`random` baseline), replacing any seed the model config had. Files are validated like arena
configs: an unknown key or bad value is a ConfigError naming the key and the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from settings.config import (
    SETTINGS_DIR,
    ArenaConfig,
    ConfigError,
    ModelConfig,
    load_config,
    parse_config,
    resolve_settings_path,
)

EXPERIMENTS_DIR = SETTINGS_DIR / "experiments"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
CELL_SEP = "__"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Period(_Strict):
    name: str | None = None
    init_date: date
    end_date: date

    @model_validator(mode="after")
    def _ok(self) -> Period:
        if self.end_date < self.init_date:
            raise ValueError("end_date must not be before init_date")
        if self.name is not None and (not NAME_RE.match(self.name) or CELL_SEP in self.name):
            raise ValueError("name must be 1-64 letters, digits, '_' or '-' (no '__')")
        return self

    @property
    def id(self) -> str:
        return self.name or f"{self.init_date.isoformat()}_{self.end_date.isoformat()}"


class ExperimentFile(_Strict):
    description: str = ""
    base_config: str | dict[str, Any]
    models: list[str | ModelConfig] = Field(min_length=1)
    repeats: int = Field(ge=1, le=1000)
    periods: list[Period] = Field(min_length=1)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    bootstrap_resamples: int = Field(default=2000, ge=100, le=100_000)
    block_length: int | None = Field(default=None, ge=1, le=250)


@dataclass(frozen=True)
class Cell:
    """One run of the grid; self-describing so any executor can run it."""

    cell_id: str
    period: str
    signature: str
    repeat: int
    seed: int
    root: Path  # the cell's data root (its agent records)
    snapshot_root: Path  # the period's shared snapshot store
    config: ArenaConfig

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def log_path(self) -> Path:
        return self.root / "main.log"

    @property
    def result_path(self) -> Path:
        return self.root / "result.json"


@dataclass(frozen=True)
class Experiment:
    name: str
    source: str
    spec: ExperimentFile
    base: ArenaConfig
    models: tuple[ModelConfig, ...]
    root: Path

    @property
    def periods(self) -> tuple[Period, ...]:
        return tuple(self.spec.periods)

    def snapshot_root(self, period: Period) -> Path:
        return self.root / "snapshots" / period.id

    def period_config(self, period: Period) -> ArenaConfig:
        """The base config over one period, with the period's snapshot store (for prebuilding)."""
        data = self.base.model_dump(mode="json")
        data["date_range"] = {
            "init_date": period.init_date.isoformat(),
            "end_date": period.end_date.isoformat(),
        }
        data["log_config"] = {
            "data_root": str(self.base.data_root()),  # its caches (akshare) are reused
            "snapshot_root": str(self.snapshot_root(period)),
        }
        return parse_config(data, f"{self.source} (period {period.id})")

    def cells(self) -> list[Cell]:
        """Every cell, ordered by period, repeat, then model (so early cells cover all models)."""
        out: list[Cell] = []
        for period in self.periods:
            for repeat in range(self.spec.repeats):
                for model in self.models:
                    out.append(self._cell(period, model, repeat))
        return out

    def _cell(self, period: Period, model: ModelConfig, repeat: int) -> Cell:
        cell_id = CELL_SEP.join((period.id, model.signature, f"r{repeat}"))
        seed = cell_seed(self.spec.seed, model.signature, repeat)
        root = self.root / cell_id
        model_data = model.model_dump(mode="json")
        if accepts_seed(model):
            model_data["parameters"] = {**model_data["parameters"], "seed": seed}
        data = self.base.model_dump(mode="json")
        data.update(
            description=f"experiment {self.name}, cell {cell_id}",
            date_range={
                "init_date": period.init_date.isoformat(),
                "end_date": period.end_date.isoformat(),
            },
            models=[model_data],
            log_config={"data_root": str(root), "snapshot_root": str(self.snapshot_root(period))},
        )
        config = parse_config(data, f"{self.source} (cell {cell_id})")
        return Cell(
            cell_id,
            period.id,
            model.signature,
            repeat,
            seed,
            root,
            self.snapshot_root(period),
            config,
        )


def cell_seed(experiment_seed: int, signature: str, repeat: int) -> int:
    """A stable 31-bit seed per (experiment seed, model, repeat)."""
    text = f"{experiment_seed}:{signature}:{repeat}".encode()
    return int(hashlib.sha256(text).hexdigest()[:8], 16) & 0x7FFFFFFF


def accepts_seed(model: ModelConfig) -> bool:
    """Models whose runs take a seed: OpenAI-compatible APIs (`seed`) and the random baseline."""
    return model.provider == "openai" or (
        model.provider == "baseline" and model.basemodel == "random"
    )


# --- loading -------------------------------------------------------------------------------
def experiment_path(name_or_path: str, directory: Path | None = None) -> Path:
    """`<name>` → settings/experiments/<name>.json (or `directory`/<name>.json); a path to a
    .json file is used as it is."""
    if NAME_RE.match(name_or_path):
        return (directory or EXPERIMENTS_DIR) / f"{name_or_path}.json"
    path = Path(name_or_path).expanduser()
    if path.suffix != ".json":
        raise ConfigError(
            f"'{name_or_path}' is neither an experiment name (letters, digits, '_', '-') "
            "nor a path to a .json file"
        )
    return path.resolve()


def _format(err: ValidationError, source: str) -> str:
    lines = [f"invalid experiment {source}:"]
    for e in err.errors():
        loc = ".".join(str(part) for part in e["loc"]) or "<root>"
        lines.append(f"  {loc}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")
    return "\n".join(lines)


def read_experiment_file(path: Path) -> ExperimentFile:
    """Parse and validate the file itself (no base config). Raises ConfigError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"experiment file not found: {path}") from None
    except OSError as err:
        raise ConfigError(f"cannot read experiment file {path}: {err}") from None
    except json.JSONDecodeError as err:
        msg = f"invalid JSON in {path}: line {err.lineno} column {err.colno}: {err.msg}"
        raise ConfigError(msg) from None
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format(err, str(path))) from None


def load_experiment(name_or_path: str, directory: Path | None = None) -> Experiment:
    """Load, validate and resolve an experiment (its base config and models). ConfigError."""
    path = experiment_path(name_or_path, directory)
    name = path.stem
    if not NAME_RE.match(name):
        raise ConfigError(f"experiment file name '{path.name}': use letters, digits, '_' or '-'")
    spec = read_experiment_file(path)
    source = str(path)
    if isinstance(spec.base_config, str):
        base_path = resolve_settings_path(spec.base_config)
        try:
            base = load_config(base_path)
        except ConfigError as err:
            raise ConfigError(f"invalid experiment {source}: base_config: {err}") from None
    else:
        try:
            base = parse_config(spec.base_config, f"{source} (base_config)")
        except ConfigError as err:
            raise ConfigError(f"invalid experiment {source}: {err}") from None
    if base.mode != "replay":
        raise ConfigError(f"invalid experiment {source}:\n  base_config.mode: must be 'replay'")
    models = _resolve_models(spec, base, source)
    names = [p.id for p in spec.periods]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"invalid experiment {source}:\n  periods: duplicate period {dupes[0]}")
    root = base.data_root() / "experiments" / name
    experiment = Experiment(name, source, spec, base, models, root)
    experiment.cells()  # every cell config must validate now, not halfway through a run
    return experiment


def _resolve_models(
    spec: ExperimentFile, base: ArenaConfig, source: str
) -> tuple[ModelConfig, ...]:
    models: list[ModelConfig] = []
    for i, entry in enumerate(spec.models):
        if isinstance(entry, str):
            found = [m for m in base.models if m.signature == entry]
            if not found:
                raise ConfigError(
                    f"invalid experiment {source}:\n  models.{i}: no model '{entry}' in base_config"
                )
            model = found[0]
        else:
            model = entry
        models.append(model)
    sigs = [m.signature for m in models]
    dupes = sorted({s for s in sigs if sigs.count(s) > 1})
    if dupes:
        raise ConfigError(f"invalid experiment {source}:\n  models: duplicate signature {dupes[0]}")
    return tuple(models)
