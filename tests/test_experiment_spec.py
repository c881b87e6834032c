"""Experiment files: validation errors, the grid of cells, seeds, and `log_config.snapshot_root`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from agent_engine.experiments.spec import cell_seed, load_experiment
from data_flow.clock import SHANGHAI
from data_flow.snapshot_store import ensure_window_snapshot, snapshot_path
from settings.config import ConfigError, parse_config
from tests.experiment_helpers import base_config, experiment, write_experiment


def _error(tmp_path: Path, data: dict, name: str = "exp") -> str:
    path = write_experiment(tmp_path / "exps", name, data)
    with pytest.raises(ConfigError) as info:
        load_experiment(str(path))
    return str(info.value)


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    data = experiment(tmp_path / "data", repeat=3)
    msg = _error(tmp_path, data)
    assert msg.startswith(f"invalid experiment {tmp_path / 'exps' / 'exp.json'}:")
    assert "  repeat: unknown key" in msg


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"repeats": 0}, "repeats: Input should be greater than or equal to 1"),
        ({"models": []}, "models: List should have at least 1 item"),
        ({"models": ["bh", "nobody"]}, "models.1: no model 'nobody' in base_config"),
        ({"models": ["bh", "bh"]}, "models: duplicate signature bh"),
        (
            {"periods": [{"init_date": "2025-11-07", "end_date": "2025-11-03"}]},
            "periods.0: Value error, end_date must not be before init_date",
        ),
        (
            {
                "periods": [
                    {"name": "x", "init_date": "2025-11-03", "end_date": "2025-11-04"},
                    {"name": "x", "init_date": "2025-11-05", "end_date": "2025-11-06"},
                ]
            },
            "periods: duplicate period x",
        ),
        (
            {"periods": [{"name": "a__b", "init_date": "2025-11-03", "end_date": "2025-11-04"}]},
            "name must be 1-64 letters, digits, '_' or '-' (no '__')",
        ),
        ({"confidence_level": 1.0}, "confidence_level: Input should be less than 1"),
        ({"base_config": "../pyproject.toml"}, "config_path must be relative to settings/"),
        ({"base_config": "nope_config.json"}, "base_config: config file not found"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, overrides: dict, fragment: str) -> None:
    assert fragment in _error(tmp_path, experiment(tmp_path / "data", **overrides))


def test_bad_base_config_and_live_mode(tmp_path: Path) -> None:
    root = tmp_path / "data"
    bad = experiment(root, base_config=base_config(root, symbols=["XX1"]))
    assert "symbols: Value error, 'XX1' is not a symbol" in _error(tmp_path, bad)
    live = experiment(root, base_config=base_config(root, mode="live"))
    assert "base_config.mode: must be 'replay'" in _error(tmp_path, live)


def test_invalid_json_and_missing_file_and_bad_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"repeats": 2,', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invalid JSON in .*broken.json: line 1"):
        load_experiment(str(path))
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_experiment("no_such_experiment_xyz")
    with pytest.raises(ConfigError, match="neither an experiment name"):
        load_experiment("../etc/passwd")


def test_grid_cells_and_seeds(tmp_path: Path) -> None:
    root = tmp_path / "data"
    data = experiment(root, repeats=2)
    data["base_config"]["models"].append(
        {
            "signature": "gpt",
            "provider": "openai",
            "basemodel": "gpt-x",
            "api_key_env": "OPENAI_API_KEY",
            "parameters": {"temperature": 0.2, "seed": 99},
        }
    )
    data["models"] = ["bh", "random-a", "gpt"]
    exp = load_experiment(str(write_experiment(tmp_path / "exps", "grid", data)))
    cells = exp.cells()
    assert [c.cell_id for c in cells] == [
        "p1__bh__r0",
        "p1__random-a__r0",
        "p1__gpt__r0",
        "p1__bh__r1",
        "p1__random-a__r1",
        "p1__gpt__r1",
    ]
    exp_root = root.resolve() / "experiments" / "grid"
    for c in cells:
        assert c.seed == cell_seed(11, c.signature, c.repeat)
        assert c.root == exp_root / c.cell_id
        assert c.snapshot_root == exp_root / "snapshots" / "p1"
        assert c.config.data_root() == c.root
        assert c.config.snapshot_root() == c.snapshot_root
        assert [m.signature for m in c.config.models] == [c.signature]
        assert str(c.config.date_range.init_date) == "2025-11-03"
        params = c.config.models[0].parameters
        if c.signature == "bh":  # a deterministic baseline takes no seed
            assert "seed" not in params
        else:  # the random baseline and OpenAI-compatible models get the repeat's seed
            assert params["seed"] == c.seed
    assert cells[2].config.models[0].parameters == {"temperature": 0.2, "seed": cells[2].seed}
    seeds = {(c.signature, c.repeat): c.seed for c in cells}
    assert len(set(seeds.values())) == len(seeds)  # every (model, repeat) differs
    assert cell_seed(11, "random-a", 0) == cell_seed(11, "random-a", 0)
    assert cell_seed(12, "random-a", 0) != cell_seed(11, "random-a", 0)


def test_snapshot_root_defaults_to_data_root_and_moves_the_store(tmp_path: Path) -> None:
    config = parse_config(base_config(tmp_path / "data"))
    assert config.snapshot_root() == config.data_root() == (tmp_path / "data").resolve()
    moved = parse_config(
        base_config(
            tmp_path / "data",
            log_config={"data_root": str(tmp_path / "data"), "snapshot_root": str(tmp_path / "s")},
        )
    )
    moment = datetime(2025, 11, 3, 10, 30, tzinfo=SHANGHAI)
    result = ensure_window_snapshot(moved, moment)
    assert result.created
    assert result.path == snapshot_path(tmp_path / "s", moment, list(moved.symbols))
    assert result.path.is_file()
    assert not (tmp_path / "data" / "agent_data").exists()
    again = ensure_window_snapshot(moved, moment)
    assert not again.created and again.content_hash == result.content_hash
    assert json.loads(result.path.read_text())["metadata"]["content_hash"] == result.content_hash
