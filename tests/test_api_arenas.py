"""GET /api/arenas, the arena= parameter, trades, CSV exports and /metrics (exact values)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api_server import ApiSettings, create_app
from data_flow.clock import SHANGHAI
from data_flow.errors import DataUnavailableError
from data_flow.snapshot_builder import build_snapshot
from data_flow.sources.demo import DemoSource
from data_flow.sources.files import FilesSource
from settings.config import PROJECT_ROOT, SETTINGS_DIR, DataConfig
from tests.api_fixtures import (
    LOCAL,
    S1,
    S2,
    AgentWriter,
    arena_in_settings,
    make_snapshot,
    scenario_config,
    write_scenario,
)
from tests.api_fixtures import write_snapshot as put_snapshot
from tests.waiting import wait_for


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    default, other = tmp_path / "default", tmp_path / "other"
    default.mkdir()
    other.mkdir()
    return default, other


@pytest.fixture
def other_arena(roots: tuple[Path, Path]) -> Iterator[str]:
    """A config in settings/ whose data root holds the two-agent scenario."""
    write_scenario(roots[1])
    with arena_in_settings(roots[1]) as name:
        yield name


def test_arenas_lists_configs_and_experiment_cells(
    roots: tuple[Path, Path], other_arena: str
) -> None:
    with TestClient(create_app(ApiSettings(data_root=roots[0])), base_url=LOCAL) as c:
        arenas = c.get("/api/arenas").json()["arenas"]
    by_id = {a["id"]: a for a in arenas}
    assert arenas[0]["id"] == "default_config" and arenas[0]["default"] is True
    assert arenas[0]["data_root"] == str(roots[0])
    assert {"star10_files", "akshare_config", other_arena} <= set(by_id)
    assert by_id[other_arena] == {
        "id": other_arena, "kind": "config", "config": f"{other_arena}.json",
        "period": {"start": "2025-11-03", "end": "2025-11-05"}, "data_source": "demo",
        "synthetic": True, "data_root": str(roots[1]), "agents": ["bh", "mom"],
        "last_window": "2025-11-04T14:00", "running_job": None, "default": False,
    }  # fmt: skip
    assert (by_id["star10_files"]["data_source"], by_id["star10_files"]["synthetic"]) == (
        "files",
        False,
    )
    cell = by_id["exp:baselines_demo/nov-2025-w1-2__baseline-momentum__r3"]
    assert cell["kind"] == "experiment_cell"
    assert cell["config"] == "experiments/baselines_demo.json"
    assert cell["agents"] == ["baseline-momentum"]
    assert cell["period"] == {"start": "2025-11-03", "end": "2025-11-14"}


def test_live_endpoints_take_an_arena(roots: tuple[Path, Path], other_arena: str) -> None:
    with TestClient(create_app(ApiSettings(data_root=roots[0])), base_url=LOCAL) as c:
        # the default arena is empty; the other one has the scenario
        assert c.get("/api/live/model-stats").json()["data"] == []
        stats = c.get("/api/live/model-stats", params={"arena": other_arena}).json()
        assert [(d["signature"], d["equity"]) for d in stats["data"]] == [
            ("alpha", 1019871.8),
            ("beta", 1000000.0),
        ]
        same = c.get("/api/live/model-stats", params={"arena": "default_config"}).json()
        assert same["data"] == []
        pos = c.get(
            "/api/live/current-positions", params={"arena": other_arena, "signature": "alpha"}
        ).json()
        assert (pos["cash"], pos["holdings"]) == (1019871.8, [])
        for url in ("/api/live/pnl-series", "/api/live/trades", "/api/live/news",
                    "/api/live/recent-decisions", "/api/live/symbols", "/api/live/trades.csv",
                    "/api/live/pnl-series.csv"):  # fmt: skip
            resp = c.get(url, params={"arena": "no-such-arena"})
            assert resp.status_code == 404, url
            assert resp.json() == {"detail": "unknown arena 'no-such-arena'"}
            assert c.get(url, params={"arena": other_arena}).status_code == 200, url


def test_trades_fifo_with_partial_exits(tmp_path: Path) -> None:
    w = AgentWriter(tmp_path, "trader")
    w.seed("2025-11-03")
    times = [("2025-11-03 10:30:00", 1, 10.0), ("2025-11-03 14:00:00", 3, 11.0),
             ("2025-11-04 10:30:00", 1, 12.0), ("2025-11-05 10:30:00", 1, 9.0)]  # fmt: skip
    orders = [[("BUY", S1, 1000)], [("BUY", S1, 1000)], [("SELL", S1, 1500)], [("SELL", S1, 500)]]
    for (dtime, count, price), order in zip(times, orders, strict=True):
        snap = make_snapshot(dtime, {S1: price})
        w.window(dtime, count, snap, put_snapshot(tmp_path, snap), order)
    with TestClient(create_app(ApiSettings(data_root=tmp_path)), base_url=LOCAL) as c:
        body = c.get("/api/live/trades").json()
        csv_text = c.get("/api/live/trades.csv").text
    # buy 1000 @10 (fees 5+0.1), buy 1000 @11 (5+0.11); sell 1500 @12 (fees 5.4+9+0.18);
    # sell 500 @9 (fees 5+2.25+0.05). FIFO: 1000@10 + 500@11, then 500@11.
    # Fees: 5.1 + 5.11/2 + 14.58 = 22.235 -> 22.24; PnL 18000 - 15500 - 22.235 -> 2477.77.
    # Then 5.11/2 + 7.3 = 9.855 -> 9.86; PnL 4500 - 5500 - 9.855 -> -1009.86.
    assert body["trades"] == [
        {"signature": "trader", "symbol": S1, "name": None, "quantity": 1500,
         "entry_time": "2025-11-03 10:30:00", "exit_time": "2025-11-04 10:30:00",
         "holding_hours": 24.0, "entry_price": 10.3333, "exit_price": 12.0,
         "fees": 22.24, "dividends": 0.0, "realized_pnl_net": 2477.77},
        {"signature": "trader", "symbol": S1, "name": None, "quantity": 500,
         "entry_time": "2025-11-03 14:00:00", "exit_time": "2025-11-05 10:30:00",
         "holding_hours": 44.5, "entry_price": 11.0, "exit_price": 9.0,
         "fees": 9.86, "dividends": 0.0, "realized_pnl_net": -1009.86},
    ]  # fmt: skip
    assert body["summary"] == {
        "trader": {"count": 2, "wins": 1, "biggest_win": 2477.77, "biggest_loss": -1009.86,
                   "realized_pnl_net": 1467.91}
    }  # fmt: skip
    assert csv_text.splitlines() == [
        "signature,symbol,name,quantity,entry_time,exit_time,holding_hours,entry_price,"
        "exit_price,fees,dividends,realized_pnl_net",
        f"trader,{S1},,1500,2025-11-03 10:30:00,2025-11-04 10:30:00,24.0,10.3333,12.0,22.24,"
        "0.0,2477.77",
        f"trader,{S1},,500,2025-11-03 14:00:00,2025-11-05 10:30:00,44.5,11.0,9.0,9.86,0.0,-1009.86",
    ]


def test_pnl_series_csv(roots: tuple[Path, Path]) -> None:
    write_scenario(roots[0], windows=2)
    with TestClient(create_app(ApiSettings(data_root=roots[0])), base_url=LOCAL) as c:
        resp = c.get("/api/live/pnl-series.csv", params={"signature": "alpha"})
        cost = c.get("/api/live/pnl-series.csv", params={"valuation": "cost"}).text
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.text.splitlines() == [
        "signature,time,equity,return_pct",
        "alpha,2025-11-03 10:30:00,999969.0,-0.0031",
        "alpha,2025-11-03 14:00:00,1009969.0,0.9969",
        "benchmark-equal-weight,2025-11-03 10:30:00,1000000.0,0.0",
        "benchmark-equal-weight,2025-11-03 14:00:00,1050000.0,5.0",
    ]
    assert cost.splitlines()[1:3] == [  # avg_price includes the buy fees
        "alpha,2025-11-03 10:30:00,1000000.0,0.0",
        "alpha,2025-11-03 14:00:00,1000000.0,0.0",
    ]


def test_metrics_parse_with_known_values(roots: tuple[Path, Path]) -> None:
    write_scenario(roots[0])
    with TestClient(create_app(ApiSettings(data_root=roots[0])), base_url=LOCAL) as c:
        assert c.get("/api/live/model-stats").status_code == 200
        resp = c.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    beta = {"arena": "default_config", "signature": "beta", "provider": "openai",
            "model": "gpt-x"}  # fmt: skip
    assert value("arena_jobs", state="running") == 0
    assert value("arena_windows_done", arena="default_config", signature="alpha") == 4
    assert value("arena_model_calls_total", **beta) == 4
    assert value("arena_llm_errors_total", **beta) == 1
    assert value("arena_invalid_tool_calls_total", **beta) == 1
    assert value("arena_rejected_orders_total", **beta) == 1
    assert value("arena_tokens_total", direction="in", **beta) == 400
    assert value("arena_tokens_total", direction="out", **beta) == 80
    assert value("arena_model_latency_seconds_count", **beta) == 4
    assert value("arena_model_latency_seconds_sum", **beta) == 6.0
    assert value("arena_model_latency_seconds_bucket", le="1.0", **beta) == 2
    assert value("arena_model_latency_seconds_bucket", le="2.5", **beta) == 4
    assert value("arena_snapshot_build_seconds_count", arena="default_config") == 4
    assert value("arena_snapshot_build_seconds_sum", arena="default_config") == 0.004
    route = {"method": "GET", "route": "/api/live/model-stats", "status": "200"}
    assert value("arena_api_request_duration_seconds_count", **route) == 1


@pytest.mark.slow
def test_job_on_another_arena_shows_running_and_serves_live_data(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    """A config added to settings/ after the server started: its job links to its arena."""
    name = f"test_tmp_{uuid.uuid4().hex}"
    path = SETTINGS_DIR / f"{name}.json"
    config = scenario_config(roots[1], date_range={"init_date": "2025-11-03",
                                                   "end_date": "2025-12-31"})  # fmt: skip
    settings = ApiSettings(data_root=roots[0], stop_grace_seconds=5.0)
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        assert name not in {a["id"] for a in c.get("/api/arenas").json()["arenas"]}
        path.write_text(json.dumps(config), encoding="utf-8")
        try:
            job_id = c.post("/api/run-trading", json={"config_path": f"{name}.json"}).json()[
                "job_id"
            ]
            assert c.get(f"/api/job/{job_id}").json()["arena"] == name
            assert c.get("/api/jobs").json()["data"][0]["arena"] == name
            arena = next(a for a in c.get("/api/arenas").json()["arenas"] if a["id"] == name)
            assert arena["running_job"] == job_id
            stats = wait_for(
                lambda: (
                    (s := c.get("/api/live/model-stats", params={"arena": name}).json()["data"])
                    and len(s) == 2
                    and all(d["windows_done"] >= 1 for d in s)
                    and s
                ),
                90,
                "windows in the job's arena",
            )
            assert [d["signature"] for d in stats] == ["bh", "mom"]
            arena = next(a for a in c.get("/api/arenas").json()["arenas"] if a["id"] == name)
            assert arena["last_window"] is not None and arena["last_window"] >= "2025-11-03T10:30"
            # the default arena (another data root) is untouched
            assert c.get("/api/live/model-stats").json()["data"] == []
            assert c.post(f"/api/stop/{job_id}", json={}).json()["status"] == "stopped"
            arena = next(a for a in c.get("/api/arenas").json()["arenas"] if a["id"] == name)
            assert arena["running_job"] is None
        finally:
            path.unlink(missing_ok=True)


def test_stock_names_flow_from_snapshots_into_the_api(tmp_path: Path) -> None:
    w = AgentWriter(tmp_path, "trader")
    w.seed("2025-11-03")
    names = {S1: "澜起科技"}
    for (dtime, count, price), order in (
        (("2025-11-03 10:30:00", 1, 10.0), [("BUY", S1, 200)]),
        (("2025-11-04 10:30:00", 1, 11.0), [("SELL", S1, 100)]),
    ):
        snap = make_snapshot(dtime, {S1: price, S2: 5.0}, names=names)
        w.window(dtime, count, snap, put_snapshot(tmp_path, snap), order)
    with TestClient(create_app(ApiSettings(data_root=tmp_path)), base_url=LOCAL) as c:
        assert c.get("/api/live/symbols").json()["names"] == {S1: "澜起科技", S2: None}
        pos = c.get("/api/live/current-positions", params={"signature": "trader"}).json()
        assert [(h["symbol"], h["name"]) for h in pos["holdings"]] == [(S1, "澜起科技")]
        assert c.get("/api/live/trades").json()["trades"][0]["name"] == "澜起科技"
        assert c.get("/api/live/stock-detail", params={"symbol": S1}).json()["name"] == "澜起科技"
        assert c.get("/api/live/stock-detail", params={"symbol": S2}).json()["name"] is None


def test_sources_name_their_stocks(tmp_path: Path) -> None:
    demo = DemoSource(42)
    assert demo.stock_name(S1) == DemoSource(7).stock_name(S1)  # deterministic per symbol
    assert demo.stock_name(S1) != demo.stock_name(S2)
    moment = datetime(2025, 11, 3, 10, 30, tzinfo=SHANGHAI)
    snap = build_snapshot(demo, moment, [S1, S2], DataConfig(source="demo"))
    assert snap["market_data"][S1]["name"] == demo.stock_name(S1)
    (tmp_path / "ai_stock_data.json").write_text("{}", encoding="utf-8")
    files = FilesSource(tmp_path)
    assert files.stock_name(S1) is None  # no names.csv: no names
    (tmp_path / "names.csv").write_text(
        f"symbol,name,industry\n{S1},澜起科技,半导体\n{S2},,\n", encoding="utf-8"
    )
    assert (FilesSource(tmp_path).stock_name(S1), FilesSource(tmp_path).stock_name(S2)) == (
        "澜起科技",
        None,
    )
    assert FilesSource(tmp_path).stock_industry(S1) == "半导体"  # optional third column
    assert FilesSource(tmp_path).stock_industry(S2) is None
    (tmp_path / "names.csv").write_text("code,title\n", encoding="utf-8")
    with pytest.raises(DataUnavailableError, match="needs the columns symbol,name"):
        FilesSource(tmp_path).stock_name(S1)


def test_import_builds_no_app_until_asked() -> None:
    code = (
        "import api_server\n"
        "print(api_server._app is None)\n"
        "app = api_server.app\n"
        "print(app is api_server.app, type(app).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "FastAPI"]
