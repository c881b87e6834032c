"""Config validation: unknown keys and bad values stop with an error naming key and file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from settings.config import (
    SETTINGS_DIR,
    ConfigError,
    load_config,
    resolve_settings_path,
)
from tests.conftest import write_config


def test_default_config_loads_with_documented_defaults() -> None:
    cfg = load_config(SETTINGS_DIR / "default_config.json")
    assert cfg.mode == "replay"
    assert cfg.data_config.source == "demo"
    assert cfg.decision_windows == ["10:30", "11:30", "14:00"]
    assert len(cfg.symbols) == 10
    assert cfg.agent_config.initial_cash == Decimal("1000000")
    assert cfg.agent_config.window_timeout_seconds == 600.0
    assert cfg.agent_config.max_reply_bytes == 262144
    assert cfg.trading_rules.commission_rate == Decimal("0.0003")
    assert cfg.trading_rules.min_commission == Decimal("5")
    assert cfg.trading_rules.stamp_duty_rate == Decimal("0.0005")
    assert cfg.trading_rules.transfer_fee_rate == Decimal("0.00001")
    assert cfg.risk_management.single_stock_max_position == Decimal("0.5")
    providers = {m.provider for m in cfg.models}
    assert providers == {"baseline", "openai", "anthropic"}


def test_every_shipped_config_is_valid() -> None:
    files = sorted(p for p in SETTINGS_DIR.glob("*.json"))
    assert files
    for path in files:
        load_config(path)


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, tmp_path / "root")
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (
            lambda d: (
                d["trading_rules"].update(comission_rate=0.1)
                if "trading_rules" in d
                else d.update(trading_rules={"comission_rate": 0.1})
            ),
            "trading_rules.comission_rate: unknown key",
        ),
        (lambda d: d.update(mode="paper"), "mode:"),
        (lambda d: d.update(symbols=["688008"]), "symbols:"),
        (lambda d: d.update(decision_windows=["12:00"]), "decision_windows:"),
        (lambda d: d.update(decision_windows=["14:00", "10:30"]), "increasing order"),
        (lambda d: d["date_range"].update(end_date="2025-10-01"), "end_date must not be before"),
        (lambda d: d["models"].append(dict(d["models"][0])), "duplicate signature(s): bh"),
        (lambda d: d["models"][0].update(signature="../evil"), "models.0.signature"),
        (
            lambda d: d["models"].append(
                {"signature": "x", "provider": "openai", "basemodel": "m"}
            ),
            "api_key_env is required",
        ),
        (lambda d: d["models"][0].update(basemodel="yolo"), "basemodel must be one of"),
        (lambda d: d.update(agent_config={"initial_cash": -5}), "agent_config.initial_cash"),
        (
            lambda d: d.update(agent_config={"window_timeout_seconds": 0}),
            "agent_config.window_timeout_seconds: Input should be greater than 0",
        ),
        (
            lambda d: d.update(agent_config={"max_reply_bytes": 100}),
            "agent_config.max_reply_bytes: Input should be greater than or equal to 1024",
        ),
        (
            lambda d: d.update(risk_management={"single_stock_max_position": 1.5}),
            "risk_management.single_stock_max_position",
        ),
        (lambda d: d.update(data_config={"source": "files"}), "path is required"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"mode": "replay",')
    with pytest.raises(ConfigError, match=r"invalid JSON in .*bad\.json: line 1"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.json")


def test_api_key_comes_only_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(SETTINGS_DIR / "default_config.json")
    gpt = cfg.model("gpt-5")
    assert gpt.skip_reason() == "OPENAI_API_KEY not set"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-value")
    assert gpt.api_key() == "sk-test-value"
    assert gpt.skip_reason() is None
    assert "sk-test-value" not in json.dumps(cfg.public_dict())


@pytest.mark.parametrize(
    "bad",
    [
        "../etc/passwd",
        "/etc/passwd",
        "runtime/runtime_env_x.json",
        "",
        "a/../../x.json",
        "default_config.txt",
    ],
)
def test_settings_path_refuses_escape(bad: str) -> None:
    with pytest.raises(ConfigError):
        resolve_settings_path(bad)


def test_settings_path_accepts_inside() -> None:
    assert resolve_settings_path("default_config.json") == SETTINGS_DIR / "default_config.json"
    assert resolve_settings_path("settings/default_config.json") == (
        SETTINGS_DIR / "default_config.json"
    )


def test_config_with_byte_order_mark_loads(tmp_path: Path) -> None:
    """A config saved by an editor that writes a UTF-8 byte-order mark (e.g. Notepad)."""
    raw = (SETTINGS_DIR / "default_config.json").read_bytes()
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + raw)
    assert load_config(path).data_config.source == "demo"
