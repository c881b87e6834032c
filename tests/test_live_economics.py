"""Cost, latency percentiles and post-cutoff figures of model-stats; pricing config checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_flow.live.economics import percentile, post_cutoff
from settings.config import ConfigError, parse_config
from tests.llm_helpers import make_config


def test_percentiles_are_nearest_rank() -> None:
    values = [float(x) for x in range(1, 21)]  # 1..20
    assert (percentile(values, 50), percentile(values, 95)) == (10.0, 19.0)
    assert percentile([], 50) is None and percentile([7.0], 95) == 7.0


def test_post_cutoff_figures_start_at_the_last_window_on_the_cutoff_day() -> None:
    points = [("2025-11-03", 1_000_000.0), ("2025-11-03", 1_010_000.0),
              ("2025-11-04", 1_020_000.0), ("2025-11-05", 1_030_200.0)]  # fmt: skip
    assert post_cutoff("2025-11-03", points, 1_000_000.0, 1_030_200.0) == {
        "windows": 2,
        "return_pct": 2.0,
        "pnl_cny": 20200.0,
    }
    # a cutoff before the run: every window counts, from the initial cash
    assert post_cutoff("2025-01-01", points, 1_000_000.0, 1_030_200.0) == {
        "windows": 4,
        "return_pct": 3.02,
        "pnl_cny": 30200.0,
    }
    assert post_cutoff("2025-12-31", points, 1e6, 1_030_200.0) == {
        "windows": 0,
        "return_pct": None,
        "pnl_cny": None,
    }
    assert post_cutoff(None, points, 1e6, 1e6) is None


def test_pricing_currency_needs_an_fx_rate(tmp_path: Path) -> None:
    data = make_config(tmp_path).model_dump(mode="json")
    data["models"] = [
        {"signature": "m", "provider": "openai", "basemodel": "x", "api_key_env": "K",
         "pricing": {"input_per_million": "1", "output_per_million": "2", "currency": "USD"}},
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"m: pricing\.currency USD has no fx_rates entry"):
        parse_config(data)
    data["fx_rates"] = {"USD": "7.2"}
    config = parse_config(data)
    assert str(config.cny_rate("USD")) == "7.2" and config.cny_rate("CNY") == 1
    data["fx_rates"] = {"usd": "7.2"}
    with pytest.raises(ConfigError, match="'usd' is not a currency code"):
        parse_config(data)


def test_replay_settings_need_no_key_unless_they_continue_live(tmp_path: Path) -> None:
    data = make_config(tmp_path).model_dump(mode="json")
    model = {"signature": "m", "provider": "openai", "basemodel": "x", "api_key_env": "NO_SUCH_K",
             "replay": {"run_dir": str(tmp_path)}}  # fmt: skip
    data["models"] = [model]
    assert parse_config(data).models[0].skip_reason() is None
    model["replay"]["on_divergence"] = "live"
    assert parse_config(data).models[0].skip_reason() == "NO_SUCH_K not set"
    data["models"] = [{"signature": "b", "provider": "baseline", "basemodel": "momentum",
                       "replay": {"run_dir": str(tmp_path)}}]  # fmt: skip
    with pytest.raises(ConfigError, match="replay is for model agents"):
        parse_config(data)
