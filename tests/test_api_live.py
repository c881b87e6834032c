"""Live-data endpoints on records written directly in the contract formats."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server import ApiSettings, create_app
from data_flow.live.tail import JsonlTail
from tests.api_fixtures import (
    LOCAL,
    S1,
    S2,
    make_snapshot,
    scenario_window,
    write_scenario,
    write_snapshot,
)


def client_for(root: Path) -> TestClient:
    return TestClient(create_app(ApiSettings(data_root=root)), base_url=LOCAL)


@pytest.fixture
def client(root: Path) -> TestClient:
    write_scenario(root)
    with client_for(root) as c:
        yield c


def test_pnl_series_market_values_each_window_at_its_snapshot(client: TestClient) -> None:
    body = client.get("/api/live/pnl-series", params={"signature": "alpha"}).json()
    assert body["valuation"] == "market"
    [series] = body["series"]
    assert series["signature"] == "alpha"
    assert series["points"] == [
        {"window_id": "2025-11-03T10:30", "time": "2025-11-03 10:30:00",
         "equity": 999969.0, "return_pct": -0.0031},
        {"window_id": "2025-11-03T14:00", "time": "2025-11-03 14:00:00",
         "equity": 1009969.0, "return_pct": 0.9969},
        {"window_id": "2025-11-04T10:30", "time": "2025-11-04 10:30:00",
         "equity": 1019871.8, "return_pct": 1.9872},
        {"window_id": "2025-11-04T14:00", "time": "2025-11-04 14:00:00",
         "equity": 1019871.8, "return_pct": 1.9872},
    ]  # fmt: skip
    assert body["benchmark"]["signature"] == "benchmark-equal-weight"
    bench = [(p["equity"], p["return_pct"]) for p in body["benchmark"]["points"]]
    # 500k in each symbol at 100 / 50; the suspended SH688009 keeps its last price (55).
    assert bench == [(1000000.0, 0.0), (1050000.0, 5.0), (1150000.0, 15.0), (1000000.0, 0.0)]


def test_model_stats_cost_and_cutoff_from_the_run_manifest(root: Path) -> None:
    write_scenario(root)
    config = {
        "date_range": {"init_date": "2025-11-03", "end_date": "2025-11-04"},
        "fx_rates": {"USD": "7.2"},
        "models": [
            {"signature": "beta", "provider": "openai", "basemodel": "gpt-x",
             "api_key_env": "OPENAI_API_KEY", "knowledge_cutoff": "2025-11-03",
             "pricing": {"input_per_million": "10", "output_per_million": "30",
                         "currency": "USD"}},
        ],
    }  # fmt: skip
    manifest = root / "agent_data" / "beta" / "manifest.jsonl"
    manifest.write_text(json.dumps({"type": "run_start", "config": config}) + "\n")
    with client_for(root) as c:
        beta = c.get("/api/live/model-stats", params={"signature": "beta"}).json()["data"][0]
    # 400 input tokens at 72 CNY/M + 80 output tokens at 216 CNY/M
    cost = (400 * 72 + 80 * 216) / 1e6
    assert beta["inference_cost_cny"] == round(cost, 4) == 0.0461
    assert beta["cost_per_decision_cny"] == round(cost / 4, 6)
    assert beta["pnl_cny"] == 0.0 and beta["pnl_net_of_cost_cny"] == round(-cost, 4)
    assert beta["knowledge_cutoff"] == "2025-11-03" and beta["knowledge_cutoff_missing"] is False
    # two windows on 2025-11-04 are after the cutoff; beta held cash throughout
    assert beta["post_cutoff"] == {"windows": 2, "return_pct": 0.0, "pnl_cny": 0.0}


def test_pnl_series_cost_valuation_and_all_agents(client: TestClient) -> None:
    body = client.get("/api/live/pnl-series", params={"valuation": "cost"}).json()
    assert [s["signature"] for s in body["series"]] == ["alpha", "beta"]
    alpha = [p["equity"] for p in body["series"][0]["points"]]
    assert alpha == [1000000.0, 1000000.0, 1019871.8, 1019871.8]  # avg cost includes buy fees
    assert [p["equity"] for p in body["series"][1]["points"]] == [1000000.0] * 4


def test_model_stats_exact(client: TestClient) -> None:
    body = client.get("/api/live/model-stats").json()
    alpha, beta = body["data"]
    r1 = 1009969.0 / 1000000.0 - 1
    r2 = 1019871.8 / 1009969.0 - 1
    sd = statistics.stdev([r1, r2])
    assert alpha == {
        "signature": "alpha",
        "provider": "baseline",
        "model": "buy_and_hold",
        "total_return_pct": 1.9872,
        "annualized_volatility_pct": round(sd * math.sqrt(252) * 100, 4),
        "volatility_pct": round(sd * math.sqrt(252) * 100, 4),
        "sharpe": round((r1 + r2) / 2 / sd * math.sqrt(252), 4),
        "max_drawdown_pct": 0.0031,
        "win_rate_pct": 100.0,
        "round_trips": 1,
        "trades": 2,
        "fees_paid": 128.2,
        "cash": 1019871.8,
        "equity": 1019871.8,
        "initial_cash": 1000000.0,
        "last_action": "no_trade (hold)",
        "last_update": "2025-11-04 14:00:00",
        "tokens_in": 0,
        "tokens_out": 0,
        "llm_errors": 0,
        "invalid_tool_calls": 0,
        "rejected_orders": 0,
        "model_calls": 4,
        "mean_latency_ms": 0.0,
        "windows_done": 4,
        # economics: a baseline costs nothing and has no knowledge cutoff to flag
        "tokens_per_decision": 0.0,
        "inference_cost_cny": 0.0,
        "cost_per_decision_cny": 0.0,
        "latency_p50_ms": 0.0,
        "latency_p95_ms": 0.0,
        "pnl_cny": 19871.8,
        "pnl_net_of_cost_cny": 19871.8,
        "knowledge_cutoff": None,
        "knowledge_cutoff_missing": False,
        "post_cutoff": None,
    }
    assert beta["provider"] == "openai" and beta["model"] == "gpt-x"
    # no manifest with pricing: cost unknown, the missing cutoff is flagged
    assert (beta["inference_cost_cny"], beta["pnl_net_of_cost_cny"]) == (None, None)
    assert beta["knowledge_cutoff_missing"] is True and beta["post_cutoff"] is None
    assert (beta["latency_p50_ms"], beta["latency_p95_ms"]) == (1000.0, 2000.0)
    assert beta["tokens_per_decision"] == 120.0
    assert (beta["tokens_in"], beta["tokens_out"], beta["model_calls"]) == (400, 80, 4)
    assert (beta["llm_errors"], beta["invalid_tool_calls"], beta["rejected_orders"]) == (1, 1, 1)
    assert beta["mean_latency_ms"] == 1500.0
    assert (beta["sharpe"], beta["annualized_volatility_pct"], beta["win_rate_pct"]) == (
        None,
        0.0,
        None,
    )
    assert beta["last_action"] == "no_trade (hold)"
    b1, b2 = 0.05, 1000000.0 / 1050000.0 - 1
    assert body["benchmark"] == {
        "signature": "benchmark-equal-weight",
        "total_return_pct": 0.0,
        "annualized_volatility_pct": round(statistics.stdev([b1, b2]) * math.sqrt(252) * 100, 4),
        "volatility_pct": round(statistics.stdev([b1, b2]) * math.sqrt(252) * 100, 4),
        "sharpe": round((b1 + b2) / 2 / statistics.stdev([b1, b2]) * math.sqrt(252), 4),
        "max_drawdown_pct": round(150000 / 1150000 * 100, 4),
        "equity": 1000000.0,
        "pnl_cny": 0.0,
    }
    one = client.get("/api/live/model-stats", params={"signature": "beta"}).json()
    assert [d["signature"] for d in one["data"]] == ["beta"]


def test_records_are_read_incrementally(root: Path) -> None:
    writers = write_scenario(root, windows=2)
    with client_for(root) as c:
        pos = c.get("/api/live/current-positions", params={"signature": "alpha"}).json()
        assert pos == {
            "signature": "alpha",
            "as_of": "2025-11-03 14:00:00",
            "cash": 899969.0,
            "equity": 1009969.0,
            "holdings": [
                {"symbol": S1, "name": None, "shares": 1000, "sellable": 0, "avg_price": 100.031,
                 "last_price": 110.0, "market_value": 110000.0, "unrealized_pnl": 9969.0,
                 "unrealized_pnl_pct": 9.9659, "purchase_date": "2025-11-03"},
            ],
        }  # fmt: skip
        first = c.get("/api/live/model-stats", params={"signature": "alpha"}).json()["data"][0]
        assert first["windows_done"] == 2
        assert first["trades"] == 1
        store = c.app.state.arena.store
        view = store._agents["alpha"]
        offset_before = view._ledger._offset
        scenario_window(writers, root, 2)
        scenario_window(writers, root, 3)
        again = c.get("/api/live/model-stats", params={"signature": "alpha"}).json()["data"][0]
        assert again["windows_done"] == 4
        assert again["trades"] == 2
        assert again["round_trips"] == 1
        assert view._ledger._offset > offset_before  # same reader, continued from its offset
        pos = c.get("/api/live/current-positions", params={"signature": "alpha"}).json()
        assert pos["holdings"] == [] and pos["cash"] == 1019871.8


def test_jsonl_tail_reads_only_appended_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    tail = JsonlTail(path)
    assert tail.poll() == (False, [])
    path.write_bytes(b'{"a":1}\n{"a":2}\n{"a":')
    assert tail.poll() == (False, [{"a": 1}, {"a": 2}])
    with open(path, "ab") as fh:
        fh.write(b'3}\n{"a":4}\n')
    assert tail.poll() == (False, [{"a": 3}, {"a": 4}])
    assert tail.poll() == (False, [])
    path.write_bytes(b'{"b":1}\n')  # replaced and shorter: start over
    assert tail.poll() == (True, [{"b": 1}])


def test_recent_decisions_newest_first(client: TestClient) -> None:
    body = client.get("/api/live/recent-decisions", params={"limit": 3}).json()
    assert body["count"] == 3
    keys = [(d["decision_time"], d["signature"]) for d in body["data"]]
    assert keys == [
        ("2025-11-04 14:00:00", "beta"),
        ("2025-11-04 14:00:00", "alpha"),
        ("2025-11-04 10:30:00", "beta"),
    ]
    beta = body["data"][2]
    assert beta["reasoning"] == "beta thinks 2"
    assert beta["outcome"] == "no_trade"
    assert [t["error_kind"] for t in beta["tool_calls"]] == ["rejected_order", "invalid_json"]
    assert beta["rejections"][0]["reason"] == "lot_size"
    assert (beta["tokens_in"], beta["invalid_tool_calls"]) == (100, 1)
    alpha = client.get(
        "/api/live/recent-decisions", params={"signature": "alpha", "limit": 2}
    ).json()["data"]
    assert alpha[1]["outcome"] == "traded"
    assert alpha[1]["trades"][0]["action"] == "SELL" and alpha[1]["trades"][0]["price"] == 120.0


def test_stock_detail_and_news(client: TestClient) -> None:
    body = client.get("/api/live/stock-detail", params={"symbol": S1}).json()
    assert [p["price"] for p in body["prices"]] == [100.0, 110.0, 120.0, 90.0]
    assert body["prices"][0]["indicators"]["rsi"] == 50.0
    assert [(t["signature"], t["action"], t["amount"], t["price"]) for t in body["trades"]] == [
        ("alpha", "BUY", 1000, 100.0),
        ("alpha", "SELL", 1000, 120.0),
    ]
    assert [n["id"] for n in body["news"]] == ["n1"]
    s2 = client.get("/api/live/stock-detail", params={"symbol": S2}).json()
    assert [p["price"] for p in s2["prices"]] == [50.0, 50.0, 55.0, None]
    news = client.get("/api/live/news").json()
    assert [n["id"] for n in news["data"]] == ["n2", "n1"] and news["count"] == 2
    assert client.get("/api/live/news", params={"symbol": S1}).json()["count"] == 1
    assert client.get("/api/live/news", params={"limit": 1}).json()["count"] == 1
    assert client.get("/api/live/symbols").json() == {
        "data": [S1, S2],
        "count": 2,
        "names": {S1: None, S2: None},
    }


def test_stock_detail_price_points_carry_the_window_bar(root: Path) -> None:
    """Candles need each window's own bar: the `recent_bars` entry at `bar_time` (not the day's
    running open/high/low at the top level); a window without that bar has nulls."""
    bars = [
        {"time": "2025-11-03 10:30:00", "open": 9.5, "high": 10.2, "low": 9.4, "close": 10.0,
         "volume": 1200, "amount": 1.2e4},
        {"time": "2025-11-03 11:30:00", "open": 10.0, "high": 10.6, "low": 9.9, "close": 10.5,
         "volume": 800, "amount": 8.4e3},
    ]  # fmt: skip
    first = make_snapshot("2025-11-03 10:30:00", {S1: 10.0})
    first["market_data"][S1].update(open=9.5, high=10.2, low=9.4, recent_bars=bars[:1])
    second = make_snapshot("2025-11-03 11:30:00", {S1: 10.5})
    second["market_data"][S1].update(open=9.5, high=10.6, low=9.4, recent_bars=bars)
    third = make_snapshot("2025-11-03 14:00:00", {S1: 10.7})  # no bars recorded
    for snap in (first, second, third):
        write_snapshot(root, snap)
    with client_for(root) as c:
        prices = c.get("/api/live/stock-detail", params={"symbol": S1}).json()["prices"]
    assert [
        (p["time"], p["price"], p["open"], p["high"], p["low"], p["volume"]) for p in prices
    ] == [
        ("2025-11-03 10:30:00", 10.0, 9.5, 10.2, 9.4, 1200),
        ("2025-11-03 11:30:00", 10.5, 10.0, 10.6, 9.9, 800),
        ("2025-11-03 14:00:00", 10.7, None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/live/pnl-series?signature=nobody", 404),
        ("/api/live/model-stats?signature=nobody", 404),
        ("/api/live/current-positions?signature=nobody", 404),
        ("/api/live/recent-decisions?signature=nobody", 404),
        ("/api/live/stock-detail?symbol=SH600000", 404),
        ("/api/live/news?symbol=SH600000", 404),
        ("/api/job/0123456789abcdef0123456789abcdef", 404),
        ("/api/job/nope", 404),
        ("/api/live/pnl-series?signature=../alpha", 422),
        ("/api/live/pnl-series?signature=%2e%2e%2falpha", 422),
        ("/api/live/current-positions?signature=..%2F..%2Fetc", 422),
        ("/api/live/current-positions?signature=/etc/passwd", 422),
        ("/api/live/current-positions?signature=alpha/position", 422),
        ("/api/live/recent-decisions?signature=a%5Cb", 422),
        ("/api/live/stock-detail?symbol=../SH688008", 422),
        ("/api/live/stock-detail?symbol=sh688008", 422),
        ("/api/live/pnl-series?valuation=today", 422),
        ("/api/live/recent-decisions?limit=0", 422),
        ("/api/models?config_path=../pyproject.toml", 422),
        ("/api/models?config_path=%2e%2e%2fpyproject.toml", 422),
        ("/api/models?config_path=/etc/passwd", 422),
        ("/api/models?config_path=runtime/x.json", 422),
        ("/api/models?config_path=missing_config.json", 404),
        ("/api/job/..%2F..%2Fetc%2Fpasswd", 404),
    ],
)
def test_unknown_and_traversal_inputs_are_4xx(client: TestClient, url: str, status: int) -> None:
    resp = client.get(url)
    assert resp.status_code == status, resp.text
    assert "detail" in resp.json()


def test_empty_data_root(root: Path) -> None:
    with client_for(root) as c:
        assert c.get("/api/live/model-stats").json()["data"] == []
        body = c.get("/api/live/pnl-series").json()
        assert body["series"] == [] and body["benchmark"]["points"] == []
        empty = {"data": [], "count": 0, "left_off": 0}
        assert c.get("/api/live/recent-decisions").json() == empty
        assert c.get("/api/live/news").json() == {"data": [], "count": 0}
        assert c.get("/api/live/symbols").json() == {"data": [], "count": 0, "names": {}}


def test_damaged_records_never_cause_5xx(root: Path) -> None:
    write_scenario(root, windows=2)
    ledger = root / "agent_data" / "alpha" / "position" / "position.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    bad_holding = (
        b'{"id":9,"date":"2025-11-03","decision_time":"2025-11-03 14:00:00","decision_count":3,'
        b'"window_id":"2025-11-03T14:00","positions":{"CASH":"lots","SH688008":{"shares":"x",'
        b'"avg_price":null}},"this_action":{"action":"BUY","amount":"many"},"schema_version":1}\n'
    )
    ledger.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]) + bad_holding + b'{"id":')
    log = root / "agent_data" / "beta" / "log" / "2025-11-03" / "10-30-00.jsonl"
    with open(log, "ab") as fh:
        fh.write(b'{"type":"model_call","usage":{"prompt_tokens":"x"},"latency_ms":"y"}\n[1,2]\n')
    snap = next((root / "agent_data" / "shared" / "snapshots" / "2025-11-03").iterdir())
    snap.write_text("garbage")
    (root / "jobs").mkdir()
    bad_job = {"job_id": "0" * 32, "status": "running", "pid": "x", "config_path": "c",
               "config_file": "c", "data_root": "d", "started_at": "s"}  # fmt: skip
    registry = {"jobs": [{"job_id": 5}, "x", bad_job, {**bad_job, "pid": None, "status": 7}]}
    (root / "jobs" / "registry.json").write_text(json.dumps(registry))
    with client_for(root) as c:
        for url in (
            "/",
            "/api/jobs",
            "/api/live/pnl-series",
            "/api/live/pnl-series?valuation=cost",
            "/api/live/model-stats",
            "/api/live/current-positions?signature=alpha",
            "/api/live/recent-decisions",
            f"/api/live/stock-detail?symbol={S1}",
            "/api/live/news",
        ):
            assert c.get(url).status_code == 200, url


def test_gzip_when_accepted(client: TestClient) -> None:
    plain = client.get("/api/live/pnl-series", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    zipped = client.get("/api/live/pnl-series", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # httpx decodes the body
    again = client.get("/api/live/pnl-series", headers={"Accept-Encoding": "gzip"})
    assert again.content == zipped.content


def test_large_other_responses_are_gzipped_when_accepted(client: TestClient) -> None:
    resp = client.get(
        "/api/live/recent-decisions", params={"limit": 8}, headers={"Accept-Encoding": "gzip"}
    )
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.json()["count"] == 8
