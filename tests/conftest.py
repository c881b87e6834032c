"""Shared fixtures: sample-data location, temporary data roots, and key hygiene."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settings.config import PROJECT_ROOT, SETTINGS_DIR
from tests.fake_llm_server import FakeLLMServer

STAR10_DIR = (PROJECT_ROOT.parent / "shared" / "data" / "astock_star10").resolve()
REAL_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "DEEPSEEK_API_KEY",
    "DASHSCOPE_API_KEY",
    "GEMINI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
)


@pytest.fixture(autouse=True)
def _no_real_llm_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real provider: real keys and base-URL overrides are removed."""
    for name in REAL_KEY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def star10_dir() -> Path:
    """The real STAR10 sample; tests that use it skip cleanly when it is absent."""
    if not (STAR10_DIR / "ai_stock_data.json").is_file():
        pytest.skip(f"sample data not found at {STAR10_DIR}")
    return STAR10_DIR


def write_config(directory: Path, data_root: Path, **overrides: Any) -> Path:
    """Write a small valid config (demo source, one baseline agent) into `directory`."""
    config: dict[str, Any] = {
        "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-05"},
        "symbols": ["SH688008", "SH688009", "SH688111"],
        "models": [
            {"signature": "bh", "provider": "baseline", "basemodel": "buy_and_hold"},
        ],
        "data_config": {"source": "demo", "seed": 42},
        "log_config": {"data_root": str(data_root)},
    }
    config.update(overrides)
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data_root"
    root.mkdir()
    return root


@pytest.fixture
def clean_env() -> dict[str, str]:
    """Environment for subprocesses: this one, without real keys."""
    return {k: v for k, v in os.environ.items() if k not in REAL_KEY_VARS}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An API test's data root (`tmp_path/data`); backups go to `tmp_path/backups`."""
    monkeypatch.setenv("ARENA_BACKUP_DIR", str(tmp_path / "backups"))
    r = tmp_path / "data"
    r.mkdir()
    return r


@pytest.fixture
def settings_config(root: Path) -> Iterator[tuple[str, Path]]:
    """A scenario config in settings/ (removed afterwards); yields (relative name, path)."""
    from tests.api_fixtures import scenario_config

    name = f"test_tmp_{uuid.uuid4().hex}.json"
    path = SETTINGS_DIR / name
    path.write_text(json.dumps(scenario_config(root)), encoding="utf-8")
    yield name, path
    path.unlink(missing_ok=True)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    """A fake OpenAI/Anthropic server on 127.0.0.1 (scripted replies, else rule "answer");
    modules that need another rule or scope define their own `server`."""
    with FakeLLMServer() as srv:
        yield srv
